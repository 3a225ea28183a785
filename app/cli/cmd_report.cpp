#include "app/cli/cmd_report.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <QApplication>

#include "app/cli/cli_support.h"
#include "core/util/error.h"
#include "ui/report/report_writer.h"

namespace qb::cli {

namespace {

/// "3,5" → {3, 5}; throws Error naming the option for anything else.
std::vector<int> parseRunList(const std::string& text, const char* option) {
    std::vector<int> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const std::size_t comma = std::min(text.find(',', pos), text.size());
        const std::string item = text.substr(pos, comma - pos);
        char* end = nullptr;
        const long v = std::strtol(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v < 1 || v > 1000000)
            throw core::Error(std::string(option) + ": '" + text + "' is not a list of run numbers such as 3,5");
        out.push_back(int(v));
        pos = comma + 1;
    }
    return out;
}

/// Qt's own chatter (e.g. "XDG_RUNTIME_DIR not set" on a headless machine) would break the
/// CLI's rule of one error line on stderr: only critical and fatal messages are printed.
void quietQtMessages(QtMsgType type, const QMessageLogContext&, const QString& message) {
    if (type == QtCriticalMsg || type == QtFatalMsg) std::fprintf(stderr, "qt: %s\n", qPrintable(message));
}

}  // namespace

int runReport(const ReportArgs& args) {
    const auto start = std::chrono::steady_clock::now();
    // Ctrl-C/SIGTERM: the report stops between sections and before its temp is renamed into
    // place ("error: cancelled", nothing under --out).
    const auto ctx = terminalContext(args.quiet);
    const StopOnSignal stopOnSignal(ctx);
    core::ReportOptions options;
    if (!args.runs.empty()) options.runs = parseRunList(args.runs, "--runs");
    std::optional<core::PaperSize> paper;
    if (!args.paper.empty() && !(paper = core::parsePaperSize(args.paper)))
        throw core::Error("--paper " + args.paper + ": use a4 or letter");
    if (!args.compare.empty()) {
        const auto pair = parseRunList(args.compare, "--compare");
        if (pair.size() != 2) throw core::Error("--compare: give two run numbers, e.g. 3,5");
        options.compare = std::make_pair(pair[0], pair[1]);
    }
    // The plots are QWidgets: a QApplication is needed, on the offscreen platform when there is
    // no display (CI, ssh), so the command runs headless.
    if (qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
        qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    qInstallMessageHandler(quietQtMessages);
    QApplication::setOrganizationName(QStringLiteral("quantbench"));
    QApplication::setApplicationName(QStringLiteral("quantbench"));
    int argc = 1;
    char name[] = "quantbench-cli";
    char* argv[] = {name, nullptr};
    QApplication app(argc, argv);
    options.author = args.author.empty() ? ui::defaultReportAuthor().toStdString() : args.author;
    options.paper = paper ? *paper : ui::defaultReportPaper();
    ui::writeReport(args.session, args.out, options, &ctx);
    if (!args.quiet) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("wrote %s in %.2f s\n", args.out.c_str(), s);
    }
    return 0;
}

}  // namespace qb::cli

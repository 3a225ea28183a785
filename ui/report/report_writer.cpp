#include "ui/report/report_writer.h"

#include <QLocale>
#include <QSettings>

#include "core/report/report_text.h"
#include "core/store/session_store.h"
#include "core/util/error.h"
#include "core/util/temp_path.h"
#include "ui/report/report_plots.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

QString defaultReportAuthor() {
    const QString stored = QSettings().value(QStringLiteral("report/author")).toString();
    if (!stored.isEmpty()) return stored;
    for (const char* var : {"USER", "USERNAME", "LOGNAME"}) {
        const QString name = qEnvironmentVariable(var);
        if (!name.isEmpty()) return name;
    }
    return {};
}

core::PaperSize defaultReportPaper() {
    if (const auto stored = core::parsePaperSize(QSettings().value(QStringLiteral("report/paper")).toString().toStdString())) return *stored;
    return QLocale::system().measurementSystem() == QLocale::ImperialUSSystem ? core::PaperSize::Letter : core::PaperSize::A4;
}

namespace {

// The bytes of a text or HTML report to out through a temp name, unless a stop came first.
void writeStoppable(const std::filesystem::path& out, const std::string& bytes, const core::RunContext* ctx) {
    if (ctx) ctx->throwIfStopped();
    core::writeFileAtomically(out, bytes);
}

}  // namespace

void writeReport(const std::filesystem::path& sessionFile, const std::filesystem::path& out, core::ReportOptions options,
                 const core::RunContext* ctx) {
    const core::ReportFormat format = core::reportFormatOf(out);  // before any work
    const std::filesystem::path folder = out.parent_path().empty() ? std::filesystem::path(".") : out.parent_path();
    if (std::error_code ec; !std::filesystem::is_directory(folder, ec))
        throw core::Error(out.string() + ": the folder " + folder.string() + " does not exist");
    const core::SessionData session = core::SessionStore::read(sessionFile);
    const core::Report report = core::buildReport(session, sessionFile, options, ctx);
    switch (format) {
        case core::ReportFormat::Json: return writeStoppable(out, core::reportToJson(report), ctx);
        case core::ReportFormat::Csv: return writeStoppable(out, core::reportToCsv(report), ctx);
        case core::ReportFormat::Markdown: return writeStoppable(out, core::reportToMarkdown(report), ctx);
        case core::ReportFormat::Html:
        case core::ReportFormat::Pdf: break;
    }
    if (ctx) ctx->throwIfStopped();
    std::vector<std::string> ids;
    for (const auto& r : core::selectReportRuns(session, options)) ids.push_back(r.id);
    ReportPlots plots(session, ids);
    if (format == core::ReportFormat::Html) {
        const QByteArray html = reportToHtml(report, plots);
        return writeStoppable(out, html.toStdString(), ctx);
    }
    const std::filesystem::path tmp = core::atomicTempPath(out);  // "<out>.tmp-<pid>"; killed runs' temps swept
    try {
        if (ctx) ctx->throwIfStopped();
        writeReportPdf(report, plots, toQString(tmp.string()), options.paper);
        if (ctx) ctx->throwIfStopped();  // a stop while the pages were drawn: the PDF never lands
    } catch (...) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw;
    }
    std::error_code ec;
    if (!std::filesystem::exists(tmp, ec)) throw core::Error(out.string() + ": cannot write (folder missing or not writable)");
    std::filesystem::rename(tmp, out, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw core::Error(out.string() + ": cannot rename into place");
    }
}

}  // namespace qb::ui

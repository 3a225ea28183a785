#include "ui/report/report_writer.h"

#include <QLocale>
#include <QSettings>

#include <unistd.h>

#include "core/report/report_text.h"
#include "core/store/session_store.h"
#include "core/util/error.h"
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

void writeReport(const std::filesystem::path& sessionFile, const std::filesystem::path& out, core::ReportOptions options) {
    const core::ReportFormat format = core::reportFormatOf(out);  // before any work
    const std::filesystem::path folder = out.parent_path().empty() ? std::filesystem::path(".") : out.parent_path();
    if (std::error_code ec; !std::filesystem::is_directory(folder, ec))
        throw core::Error(out.string() + ": the folder " + folder.string() + " does not exist");
    const core::SessionData session = core::SessionStore::read(sessionFile);
    const core::Report report = core::buildReport(session, sessionFile, options);
    switch (format) {
        case core::ReportFormat::Json: return core::writeFileAtomically(out, core::reportToJson(report));
        case core::ReportFormat::Csv: return core::writeFileAtomically(out, core::reportToCsv(report));
        case core::ReportFormat::Markdown: return core::writeFileAtomically(out, core::reportToMarkdown(report));
        case core::ReportFormat::Html:
        case core::ReportFormat::Pdf: break;
    }
    std::vector<std::string> ids;
    for (const auto& r : core::selectReportRuns(session, options)) ids.push_back(r.id);
    ReportPlots plots(session, ids);
    if (format == core::ReportFormat::Html) {
        const QByteArray html = reportToHtml(report, plots);
        return core::writeFileAtomically(out, html.toStdString());
    }
    const std::filesystem::path tmp = out.string() + ".tmp-" + std::to_string(::getpid());
    try {
        writeReportPdf(report, plots, toQString(tmp.string()), options.paper);
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

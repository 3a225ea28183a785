#pragma once
// Writing a report file (issue 13), shared by `quantbench-cli report` and the workbench's
// File → Export report…: read the session, build core::Report, write it in the format of the
// file's extension — .json/.csv/.md (core/report/report_text.h), .html (one self-contained
// file: inline SVG plots, table of contents, sortable tables, light and dark) or .pdf (A4 or
// Letter, vector plots, page numbers, title block) — through a temp name renamed into place.
// HTML and PDF need a QGuiApplication (offscreen is fine); GUI thread only for those.

#include <filesystem>
#include <string>

#include <QByteArray>
#include <QString>

#include "core/report/report.h"
#include "core/util/run_context.h"

namespace qb::ui {

class ReportPlots;

/// Reads sessionFile, builds its report with options and writes out. Throws core::Error with
/// one line ("<file>: <problem>") for an unreadable session, an unknown extension, a run the
/// session does not have or an unwritable file; nothing is written then. ctx (optional):
/// progress per section, and a stop honoured after reading, between sections and before the
/// temp file is renamed into place (core::Cancelled; the temp is removed, out untouched).
void writeReport(const std::filesystem::path& sessionFile, const std::filesystem::path& out, core::ReportOptions options,
                 const core::RunContext* ctx = nullptr);

/// The author of the title block: QSettings "report/author", else the login name, else "".
[[nodiscard]] QString defaultReportAuthor();

/// The HTML document of report (UTF-8), its plots drawn by plots.
[[nodiscard]] QByteArray reportToHtml(const core::Report& report, ReportPlots& plots);
/// Writes the PDF of report to file on paper (A4 or Letter). Returns the page count; throws
/// core::Error on failure.
int writeReportPdf(const core::Report& report, ReportPlots& plots, const QString& file, core::PaperSize paper = core::PaperSize::A4);
/// The paper of the PDF: QSettings "report/paper" ("a4"/"letter"), else Letter where the
/// system locale measures in US units, else A4.
[[nodiscard]] core::PaperSize defaultReportPaper();

}  // namespace qb::ui

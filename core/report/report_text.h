#pragma once
// The report's text formats (layout of the JSON: docs/report-format.md):
//   JSON     — every section, line, warning and table, numbers as exact JSON numbers;
//   CSV      — every table in one file, each preceded by a "# table: <id>" line and followed
//              by an empty line (RFC 4180 quoting, '.' decimals, numbers that read back exactly);
//   Markdown — a short summary for a pull request: headline figures, warnings, skipped sections.
// Plain functions of a built Report; thread-safe.

#include <filesystem>
#include <string>

#include "core/report/report.h"

namespace qb::core {

[[nodiscard]] std::string reportToJson(const Report& report);
[[nodiscard]] std::string reportToCsv(const Report& report);
[[nodiscard]] std::string reportToMarkdown(const Report& report);

/// Writes bytes to path through "<path>.tmp-<pid>" in the same folder, renamed into place; on
/// failure removes the temp file and throws Error "<path>: <problem>".
void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes);

/// The report formats by file extension.
enum class ReportFormat { Json, Csv, Markdown, Html, Pdf };
/// The format of path's extension (.json, .csv, .md, .html/.htm, .pdf, any case); throws Error
/// "<path>: unknown report format '.x' (use .html, .pdf, .md, .csv or .json)".
[[nodiscard]] ReportFormat reportFormatOf(const std::filesystem::path& path);

}  // namespace qb::core

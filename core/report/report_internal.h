#pragma once
// Shared by the report's section builders (not a public header).

#include <optional>
#include <string>
#include <vector>

#include "core/report/report.h"

namespace qb::core::report_detail {

/// Everything the section builders read.
struct ReportInput {
    const SessionData& session;
    const std::vector<ReportRun>& runs;
    const ReportOptions& options;
    std::filesystem::path sessionFile;
};

/// The metric of run, if stored.
[[nodiscard]] std::optional<double> metric(const RunRecord& run, const std::string& key);
/// A number cell, or an empty one.
[[nodiscard]] ReportCell cell(std::optional<double> v);
[[nodiscard]] ReportCell textCell(const std::string& s);

/// A table with columns from {key, title, unit} triples.
[[nodiscard]] ReportTable makeTable(std::string id, std::string title, std::vector<ReportColumn> columns);

/// "1a2b3c4d…" — the first 12 hex digits of a SHA-256 for prose.
[[nodiscard]] std::string shortSha(const std::string& sha);

/// The section with only the line saying why it is empty.
[[nodiscard]] ReportSection skippedSection(std::string id, std::string title, std::string why);

// Section builders (report_sections.cpp, report_results.cpp).
[[nodiscard]] ReportSection modelSection(const ReportInput& in, std::string& modelName);
[[nodiscard]] ReportSection protocolSection(const ReportInput& in);
[[nodiscard]] ReportSection planSection(const ReportInput& in);
[[nodiscard]] ReportSection outlierSection(const ReportInput& in);
[[nodiscard]] ReportSection sensitivitySection(const ReportInput& in);
[[nodiscard]] ReportSection moduleErrorSection(const ReportInput& in);
[[nodiscard]] ReportSection trainingSection(const ReportInput& in);
[[nodiscard]] ReportSection qualitySection(const ReportInput& in);
[[nodiscard]] ReportSection latencySection(const ReportInput& in);
[[nodiscard]] ReportSection paretoSection(const ReportInput& in);
[[nodiscard]] ReportSection changesSection(const ReportInput& in);
[[nodiscard]] ReportSection environmentSection(const ReportInput& in);

/// The session's model folder, made canonical, when it still holds a config.json (the
/// provenance's folder, else a CLI eval run's absolute folder of the same name); empty otherwise.
[[nodiscard]] std::filesystem::path reportModelFolder(const SessionData& session);

/// Module names and shapes [out, in] in model order: the session's modules, else derived from
/// the model folder's config.json when it exists; empty when neither is known.
struct ModuleShape {
    std::string name;
    Index out = 0;
    Index in = 0;
};
[[nodiscard]] std::vector<ModuleShape> moduleShapes(const SessionData& session);

}  // namespace qb::core::report_detail

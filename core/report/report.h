#pragma once
// Report — what `quantbench-cli report` and File → Export report… write, read from one session
// (issue 13): the model, the data and protocol of every figure, the plans, outliers,
// sensitivity, per-module errors, quality against the FP16/F32 references, latency and memory,
// the Pareto set, what changed between two runs, and the environment.
//
// The report is a list of sections; each holds tables (plain cells: a number, a text or
// nothing), lines of prose, warnings (figures compared across different protocols,
// compareProtocols()) and the names of the plots a graphical writer draws for it. A section
// whose data the session lacks keeps one line saying so (`skipped`). The text writers
// (report_text.h) and the HTML/PDF writers (ui/report/) render the same Report, so every
// format shows the same numbers. JSON layout: docs/report-format.md.
// Plain values, no threads: build on any thread, copy freely.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/quant/quant_scheme.h"
#include "core/store/session_data.h"
#include "core/util/matrix.h"
#include "core/util/run_context.h"

namespace qb::core {

/// One table cell: nothing (not measured / not applicable), a number, or a text.
using ReportCell = std::variant<std::monostate, double, std::string>;

struct ReportColumn {
    std::string key;    ///< machine name, snake_case: "perplexity", "kld_mean"
    std::string title;  ///< heading as shown: "perplexity", "KLD mean"
    std::string unit;   ///< "nats", "ms", "bytes", "%", or empty
};

struct ReportTable {
    std::string id;     ///< unique in the report: "quality", "plan_modules"
    std::string title;
    std::vector<ReportColumn> columns;
    std::vector<std::vector<ReportCell>> rows;  ///< each row has columns.size() cells

    /// Index of the column named key; throws Error when absent.
    [[nodiscard]] std::size_t column(const std::string& key) const;
};

struct ReportSection {
    std::string id;     ///< "model", "protocol", "plan", "outliers", "sensitivity", "module_errors",
                        ///< "training", "quality", "latency", "pareto", "changes", "environment"
    std::string title;
    std::vector<std::string> lines;     ///< prose, one paragraph each
    std::vector<std::string> warnings;  ///< shown highlighted: "run 3 vs run 1: ctx 512 vs 128"
    std::vector<ReportTable> tables;
    /// Plots a graphical writer draws here: "perplexity", "pareto", "module_errors", "latency",
    /// "prefill", "overview", "outlier_channels:<module>", "training_loss:<run id>".
    std::vector<std::string> plots;
    /// Non-empty when the session has no data for this section: the one line saying so. Such a
    /// section has no tables and no plots.
    std::string skipped;
};

/// The PDF's paper: ISO A4 (210 × 297 mm) or US Letter (8.5 × 11 in).
enum class PaperSize { A4, Letter };
/// "a4" / "letter" (any case) → the size; nullopt for anything else.
[[nodiscard]] std::optional<PaperSize> parsePaperSize(const std::string& name);
[[nodiscard]] const char* paperSizeName(PaperSize paper);  ///< "a4", "letter"

struct ReportOptions {
    /// Run numbers to include (run_number, "run 3"); empty = every run. Baselines (number 0) are
    /// always kept: they are the references.
    std::vector<int> runs;
    /// The two runs "what changed" compares, by number; empty = the last two selected runs
    /// with a plan (or the last two runs).
    std::optional<std::pair<int, int>> compare;
    std::string generatedUtc;  ///< the report's date; empty = now
    std::string author;        ///< shown in the title block (PDF, HTML); may be empty
    /// Modules listed in the outlier and sensitivity rankings.
    int topModules = 10;
    PaperSize paper = PaperSize::A4;  ///< the PDF's page size (the other formats ignore it)
};

/// A run as the report names it.
struct ReportRun {
    int number = 0;        ///< run_number (0 for baselines)
    std::string id;        ///< session run id, "run-3"
    std::string label;     ///< "run 3", "baseline (FP16)"
    std::string title;     ///< "run 3 · quantize rtn w4 g32", the label plus what the run is
    const RunRecord* run = nullptr;  ///< into the SessionData the report was built from
};

struct Report {
    std::string title;          ///< "Quantization report: stories260K"
    std::string modelName;      ///< the model folder's name
    std::string sessionFile;    ///< as given
    std::string generatedUtc;
    std::string author;
    std::string quantbenchVersion;  ///< of the program that wrote the report
    std::vector<std::string> runLabels;  ///< the runs included, in session order
    std::vector<ReportSection> sections;

    /// The section with this id, or nullptr.
    [[nodiscard]] const ReportSection* section(const std::string& id) const;
    /// The table with this id in any section, or nullptr.
    [[nodiscard]] const ReportTable* table(const std::string& id) const;
};

/// Builds the report of session (read from sessionFile). The model folder named in the
/// provenance is read (config.json and safetensors headers only) when it still exists, for the
/// architecture and parameter count; otherwise the model section says so. Throws Error when
/// options.runs names a run the session does not have, or compare names one not selected.
/// ctx (optional): progress "report section <id>" before each section, and Cancelled there
/// when a stop was requested.
[[nodiscard]] Report buildReport(const SessionData& session, const std::filesystem::path& sessionFile,
                                 const ReportOptions& options, const RunContext* ctx = nullptr);

/// The runs of session that options select, in session order, with their labels.
[[nodiscard]] std::vector<ReportRun> selectReportRuns(const SessionData& session, const ReportOptions& options);

/// Module names in model order: the session's modules, else those of the model folder's
/// config.json when it still exists; empty when neither is known.
[[nodiscard]] std::vector<std::string> reportModuleNames(const SessionData& session);

/// "1.234", "0.000123", "1234567" — the shortest text of a number that reads back the same
/// value (JSON, CSV). Never locale-dependent.
[[nodiscard]] std::string exactNumberText(double v);
/// "1.23", "0.000123", "1,234,567" — a number for people (Markdown, HTML, PDF).
[[nodiscard]] std::string readableNumberText(double v);
/// The cell as people read it ("—" for nothing).
[[nodiscard]] std::string readableCellText(const ReportCell& cell);

}  // namespace qb::core

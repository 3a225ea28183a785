#pragma once
// The inspect report: what `quantbench-cli inspect` prints, built here so the CLI stays thin
// and the GUI can show the same words.
//
// Text (one line per module, then the sensitivity ranking):
//   model.layers.0.self_attn.q_proj  [64x64]  worst: activation outlier ratio 43.1x (channel 5)  outliers: 5 (190.20), 17 (12.30)
//   ...
//   Modules ranked by RTN w4 g128 relative output error (largest first):
//     1. model.layers.4.mlp.down_proj  5.23%
// JSON (--json):
//   {"modules": [{"name": "...", "shape": [out, in],
//                 "outlier_channels": [{"index": 5, "absmax": 190.2, "rule": "relative", "int8_fraction": 0.001}, ...],
//                 "weight": {...}, "activation": {...} | null, "sensitivity": {"w4_g128": 0.0123, ...},
//                 "worst": {"name": ..., "value": ..., "severity": ...}}, ...],
//    "sensitivity_ranking": [{"name": ..., "relative_error": ...}, ...]}
// Non-finite numbers (an infinite relative error) are written as null.

#include <optional>
#include <string>
#include <vector>

#include "core/stats/module_stats.h"

namespace qb::core {

struct InspectReportOptions {
    int topChannels = 3;       ///< outlier channels listed per module in text mode (JSON lists all)
    WorstStatisticLevels levels;
    int rankBits = 4;          ///< the sensitivity entry the ranking uses
    std::optional<int> rankGroup = 128;
};

/// module with only what the report reads: its activation statistics are copied without the
/// token × channel |x| sample (256 × in floats, most of a module's size), and not shared. A
/// caller that streams modules to the session keeps these for the report.
[[nodiscard]] ModuleStats reportView(const ModuleStats& module);

/// Modules ordered by the (rankBits, rankGroup) relative error, largest first; modules without
/// that entry are left out. Returns indices into modules.
[[nodiscard]] std::vector<std::size_t> rankBySensitivity(const std::vector<ModuleStats>& modules,
                                                         const InspectReportOptions& options = {});

/// The text report, lines ending in '\n'.
[[nodiscard]] std::string formatInspectText(const std::vector<ModuleStats>& modules,
                                            const InspectReportOptions& options = {});

/// The JSON report, indented by 2, ending in '\n'.
[[nodiscard]] std::string formatInspectJson(const std::vector<ModuleStats>& modules,
                                            const InspectReportOptions& options = {});

}  // namespace qb::core

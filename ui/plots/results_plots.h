#pragma once
// The plots of the Results view, filled from the workspace's runs:
//   perplexity of every run as bars, with Δ% against the baseline written on each bar;
//   latency bars (decode ms/token, prefill tokens/s) — "not measured" until a benchmark ran;
//   Pareto scatter of bits per weight vs perplexity with the frontier;
//   per-module relative output error of one run (or of two runs side by side).

#include <vector>

#include <QString>

#include "ui/models/run_record.h"

class QCustomPlot;

namespace qb::ui {

[[nodiscard]] QCustomPlot* createPerplexityPlot();
[[nodiscard]] QCustomPlot* createLatencyPlot();
[[nodiscard]] QCustomPlot* createParetoPlot();
[[nodiscard]] QCustomPlot* createModuleErrorPlot(const QString& objectName);

void fillPerplexity(QCustomPlot* plot, const std::vector<RunPtr>& runs, const RunPtr& baseline);
void fillLatency(QCustomPlot* plot, const std::vector<RunPtr>& runs);
void fillPareto(QCustomPlot* plot, const std::vector<RunPtr>& runs, const RunPtr& baseline);
/// Bars of runs[i]->modules' relative error, grouped per module (one colour per run).
void fillModuleErrors(QCustomPlot* plot, const std::vector<RunPtr>& runs);

/// Indices of runs (with perplexity) on the Pareto frontier: no other run has both fewer bits
/// per weight and a lower perplexity. Sorted by bits per weight.
[[nodiscard]] std::vector<std::size_t> paretoFrontier(const std::vector<RunPtr>& runs);

/// "baseline", "run 3" — the short label of a run for axes.
[[nodiscard]] QString shortRunLabel(const RunRecord& run);

}  // namespace qb::ui

#pragma once
// The plots of the Results view, filled from the workspace's runs:
//   perplexity of every run as bars (the two baselines in grey), with Δ% against the FP16
//   baseline written on each bar (against the model as loaded in the read-out and the table);
//   Pareto scatter of bits per weight vs perplexity with the frontier, and, when the plan
//   autopilot has run, its predicted frontier and the uniform plans' predicted costs on a
//   second axis (predictions from the measured single-module costs, not runs);
//   per-module relative output error of one run (or of two runs side by side).
// The latency plots are in latency_plots.h.

#include <optional>
#include <vector>

#include <QString>

#include "ui/models/autoplan_frontier.h"
#include "ui/models/run_record.h"

class QCustomPlot;

namespace qb::ui {

[[nodiscard]] QCustomPlot* createPerplexityPlot();
[[nodiscard]] QCustomPlot* createParetoPlot();
[[nodiscard]] QCustomPlot* createModuleErrorPlot(const QString& objectName);

void fillPerplexity(QCustomPlot* plot, const std::vector<RunPtr>& runs);
/// The Pareto scatter; the dashed line is the perplexity of perplexityReference(runs). With
/// autoPlan, also its frontier and uniform plans as predicted Σ ΔKLD on the right (log) axis.
void fillPareto(QCustomPlot* plot, const std::vector<RunPtr>& runs, const AutoPlanFrontier* autoPlan = nullptr);
/// Bars of runs[i]->modules' relative error, grouped per module (one colour per run).
void fillModuleErrors(QCustomPlot* plot, const std::vector<RunPtr>& runs);

/// Indices of runs (with perplexity) on the Pareto frontier: no other run has both fewer bits
/// per weight and a lower perplexity. Sorted by bits per weight.
[[nodiscard]] std::vector<std::size_t> paretoFrontier(const std::vector<RunPtr>& runs);

/// "F32", "FP16" (baselines: their precision), "run 3" — the short label of a run for axes.
[[nodiscard]] QString shortRunLabel(const RunRecord& run);

/// The run perplexity changes are measured against: the FP16 baseline when it has been
/// evaluated, else the baseline as loaded; nullptr when neither has a perplexity.
[[nodiscard]] RunPtr perplexityReference(const std::vector<RunPtr>& runs);
/// 100 · (run / reference − 1) in percent; empty when either has no perplexity.
[[nodiscard]] std::optional<double> perplexityDelta(const RunRecord& run, const RunPtr& reference);
/// "+3.1 %", "-0.02 %".
[[nodiscard]] QString deltaText(double delta, int decimals);

}  // namespace qb::ui

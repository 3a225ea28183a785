#pragma once
// The two speed plots of the Results view, filled from the workspace's runs by the Benchmark
// job's figures:
//   decode latency — ms per generated token (greedy KV-cache decode, median step; lower is better)
//   prefill throughput — prompt tokens per second (higher is better)
// Runs are rows (horizontal bars, the first run on top) so their labels stay readable. Each
// measured bar is labelled with its value and its speed against the FP16 baseline ("2.41×
// faster", "1.30× slower"), and the FP16 value is drawn as a dashed line. A run without a
// measurement says "not measured" in its row: no value is ever estimated.

#include <vector>

#include <QString>

#include "ui/models/run_record.h"

class QCustomPlot;

namespace qb::ui {

[[nodiscard]] QCustomPlot* createLatencyPlot();
[[nodiscard]] QCustomPlot* createPrefillPlot();

/// Decode ms/token of every run against the FP16 baseline among runs (if measured).
void fillLatency(QCustomPlot* plot, const std::vector<RunPtr>& runs);
/// Prefill tokens/s of every run against the FP16 baseline among runs (if measured).
void fillPrefill(QCustomPlot* plot, const std::vector<RunPtr>& runs);

/// How much faster a run is than the reference: reference / value when lower is better
/// (latency), value / reference otherwise (throughput). Both must be positive.
[[nodiscard]] double speedupOver(double value, double reference, bool lowerIsBetter);
/// "2.41× faster", "1.30× slower" for a speedup (see speedupOver).
[[nodiscard]] QString speedupText(double speedup);

}  // namespace qb::ui

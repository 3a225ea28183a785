#pragma once
// The four plots of the Outliers view, filled from core statistics of one module:
//   weight histogram (log count axis, mean ± 3σ / ± 6σ markers),
//   per-input-channel activation max |x| with the LLM.int8() 6.0 line and the relative line,
//   per-output-row weight max |w|,
//   token × channel |x| heatmap (log colour scale, colour bar) with the outlier channels framed.
// Each fill function clears the plot first and replots; a null statistic leaves a message.

#include <QString>

class QCustomPlot;

namespace qb::core {
struct WeightStats;
struct ActivationStats;
}  // namespace qb::core

namespace qb::ui {

/// Creates the four plots with their read-outs and explanations (objectNames: weightHistogram,
/// activationAbsmax, rowAbsmax, activationHeatmap).
[[nodiscard]] QCustomPlot* createWeightHistogramPlot();
[[nodiscard]] QCustomPlot* createActivationAbsmaxPlot();
[[nodiscard]] QCustomPlot* createRowAbsmaxPlot();
[[nodiscard]] QCustomPlot* createActivationHeatmapPlot();

void fillWeightHistogram(QCustomPlot* plot, const core::WeightStats* stats, const QString& module);
void fillActivationAbsmax(QCustomPlot* plot, const core::ActivationStats* stats, const QString& module);
void fillRowAbsmax(QCustomPlot* plot, const core::WeightStats* stats, const QString& module);
void fillActivationHeatmap(QCustomPlot* plot, const core::ActivationStats* stats, const QString& module);

/// Text shown in place of a plot whose statistic is missing.
[[nodiscard]] QString missingStatsMessage();

}  // namespace qb::ui

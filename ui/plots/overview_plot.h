#pragma once
// The Overview heatmap — decoder layers × module kinds coloured by one module statistic (log
// colour scale for statistics that span decades), each cell labelled with its value — shared by
// the Overview view and the report (ui/report/), which draws it offscreen.

#include <functional>

#include "ui/models/module_statistic.h"
#include "ui/plots/plot_support.h"

class QCustomPlot;

namespace qb::ui {

struct ModelStats;

/// Creates the heatmap plot (objectName overviewHeatmap) with its colour scale, no pan or zoom.
[[nodiscard]] QCustomPlot* createOverviewPlot(const QString& explanation, ReadoutFn readout, std::function<void()> resetView);
/// Fills plot with the statistic of every module of stats over layers decoder layers and
/// replots. layers == 0 or stats == nullptr leaves a message saying what is missing.
void fillOverview(QCustomPlot* plot, const ModelStats* stats, int layers, ModuleStatistic statistic);

}  // namespace qb::ui

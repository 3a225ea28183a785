#pragma once
// The training-loss plot: OmniQuant's block loss per epoch, one line per decoder layer, each
// divided by its first epoch's loss, so every layer's progress reads on one linear axis (the
// absolute losses span decades: later layers carry larger hidden states); the read-out gives the
// absolute loss. The Jobs dock draws it live from a running quantize job's curves, compact; the
// report draws it from the session's history (RunRecord::trainingLoss), whose table holds the
// absolute values.

#include <vector>

#include <QString>

#include "ui/util/named_curve.h"

class QCustomPlot;

namespace qb::ui {

/// One layer's history: name "layer 3", points (epoch, absolute loss).
using LossCurve = NamedCurve;

/// compact: small fonts and no title, for the Jobs dock.
[[nodiscard]] QCustomPlot* createTrainingLossPlot(const QString& objectName, bool compact = false);
/// Draws curves (in order; the last one, the layer in training, drawn strongest) with a legend
/// beside the axes naming them (the first and the last only when there are many); title is the
/// plot's title ("" keeps none).
void fillTrainingLoss(QCustomPlot* plot, const std::vector<LossCurve>& curves, const QString& title);

}  // namespace qb::ui

#pragma once
// The training-loss plot: OmniQuant's block loss per epoch, one line per decoder layer (log
// axis: later layers carry larger hidden states and larger losses). The Jobs dock draws it
// live from a running quantize job's curves; the report draws it from the session's history
// (RunRecord::trainingLoss), so both show the same picture.

#include <vector>

#include <QPointF>
#include <QString>
#include <QVector>

class QCustomPlot;

namespace qb::ui {

/// One layer's history: name "layer 3", points (epoch, loss).
struct LossCurve {
    QString name;
    QVector<QPointF> points;
};

[[nodiscard]] QCustomPlot* createTrainingLossPlot(const QString& objectName);
/// Draws curves (in order; the last one, the layer in training, drawn strongest) with a legend
/// when there are few enough to name; title is the plot's title ("" keeps none).
void fillTrainingLoss(QCustomPlot* plot, const std::vector<LossCurve>& curves, const QString& title);

}  // namespace qb::ui

#pragma once
// NamedCurve — a curve reported point by point: OmniQuant's loss per epoch of one layer (name
// "layer 3", x the epoch, y the loss). Jobs collect them from core::RunContext::curvePoint and the
// training-loss plot draws them.

#include <QPointF>
#include <QString>
#include <QVector>

namespace qb::ui {

struct NamedCurve {
    QString name;
    QVector<QPointF> points;
};

}  // namespace qb::ui

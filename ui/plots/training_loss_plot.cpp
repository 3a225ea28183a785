#include "ui/plots/training_loss_plot.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "ui/plots/plot_support.h"

namespace qb::ui {

namespace {

/// Curves beyond this many are not named one by one in the legend (the first and last are).
constexpr int kNamedCurves = 8;
/// The graph property holding the curve's first loss, for the read-out's absolute value.
constexpr const char* kFirstLoss = "firstLoss";

/// The colour of curve i of n: the series palette for a few layers; for many, a ramp from the
/// first layer to the last, so depth reads at a glance.
QColor curveColor(int i, int n) {
    if (n <= kNamedCurves) return seriesColor(i);
    const QColor a = seriesColor(0), b = seriesColor(1);
    const double t = n > 1 ? double(i) / double(n - 1) : 1.0;
    return QColor::fromRgbF(float(a.redF() + t * (b.redF() - a.redF())), float(a.greenF() + t * (b.greenF() - a.greenF())),
                            float(a.blueF() + t * (b.blueF() - a.blueF())));
}

QString readout(QCustomPlot* p, const QPointF& pos) {
    if (!p->axisRect()->rect().contains(pos.toPoint())) return {};
    double best = 144.0;  // the nearest point of any curve within 12 pixels
    QString text;
    for (int g = 0; g < p->graphCount(); ++g) {
        const QCPGraph* graph = p->graph(g);
        const double first = graph->property(kFirstLoss).toDouble();
        for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
            const double dx = p->xAxis->coordToPixel(it->key) - pos.x(), dy = p->yAxis->coordToPixel(it->value) - pos.y();
            if (dx * dx + dy * dy >= best) continue;
            best = dx * dx + dy * dy;
            text = QObject::tr("%1, epoch %2: loss %3 (%4 × epoch 1)")
                       .arg(graph->name())
                       .arg(it->key)
                       .arg(compactNumber(it->value * first))
                       .arg(QString::number(it->value, 'f', 3));
        }
    }
    return text;
}

}  // namespace

QCustomPlot* createTrainingLossPlot(const QString& objectName, bool compact) {
    auto* plot = createPlot(objectName,
                            QObject::tr("OmniQuant's block loss per epoch, divided by the layer's first epoch: the MSE between the\n"
                                        "layer's output with quantized weights (and activations, where the plan quantizes them) on\n"
                                        "the quantized model's inputs and the float layer's output on the float model's inputs."),
                            readout);
    plot->xAxis->setLabel(QObject::tr("epoch"));
    plot->yAxis->setLabel(compact ? QObject::tr("loss ÷ epoch 1") : QObject::tr("block loss ÷ first epoch's"));
    auto epochs = QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed);  // whole epochs only
    epochs->setTickStep(1.0);
    epochs->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(epochs);
    // The legend goes beside the axis rect, where it never hides a line: at the top of a column
    // whose empty element below takes the rest of the height.
    plot->axisRect()->insetLayout()->take(plot->legend);
    auto* side = new QCPLayoutGrid;
    plot->plotLayout()->addElement(0, 1, side);
    plot->plotLayout()->setColumnStretchFactor(1, 0.001);
    side->addElement(0, 0, plot->legend);
    side->addElement(1, 0, new QCPLayoutElement(plot));
    side->setRowStretchFactor(0, 0.001);
    plot->legend->setVisible(false);
    if (compact) {
        QFont small = plot->font();
        small.setPointSizeF(std::max(6.0, small.pointSizeF() - 1.5));
        for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
            axis->setTickLabelFont(small);
            axis->setLabelFont(small);
        }
        plot->legend->setFont(small);
        plot->legend->setRowSpacing(-3);
    }
    return plot;
}

void fillTrainingLoss(QCustomPlot* plot, const std::vector<LossCurve>& curves, const QString& title) {
    clearPlotContent(plot);
    if (!title.isEmpty()) setPlotTitle(plot, title);
    double lo = INFINITY, hi = 0.0, last = 1.0;
    const int n = int(curves.size());
    for (int i = 0; i < n; ++i) {
        const LossCurve& curve = curves[std::size_t(i)];
        const auto firstValid = std::find_if(curve.points.begin(), curve.points.end(),
                                             [](const QPointF& p) { return p.y() > 0.0 && std::isfinite(p.y()); });
        if (firstValid == curve.points.end()) continue;
        const double first = firstValid->y();
        QCPGraph* graph = plot->addGraph();
        graph->setName(curve.name);
        graph->setProperty(kFirstLoss, first);
        QPen pen(curveColor(i, n));
        pen.setWidthF(i == n - 1 ? 2.2 : 1.3);
        graph->setPen(pen);
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, curveColor(i, n), i == n - 1 ? 5 : 3));
        for (const QPointF& p : curve.points) {
            if (!std::isfinite(p.y())) continue;
            const double relative = p.y() / first;
            graph->addData(p.x(), relative);
            lo = std::min(lo, relative), hi = std::max(hi, relative), last = std::max(last, p.x());
        }
        if (n > kNamedCurves && i > 0 && i < n - 1) graph->removeFromLegend();
    }
    if (plot->graphCount() == 0) {
        setPlotMessage(plot, QObject::tr("No training loss yet."));
        plot->yAxis->setRange(0.0, 1.1);
        plot->xAxis->setRange(0.5, 1.5);
    } else {
        setPlotMessage(plot, {});
        const double pad = std::max(0.02, 0.08 * (hi - lo));
        plot->yAxis->setRange(lo - pad, hi + pad);
        plot->xAxis->setRange(0.5, last + 0.5);
        plot->legend->setVisible(true);
    }
    plot->replot();
}

}  // namespace qb::ui

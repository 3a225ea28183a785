#include "ui/plots/training_loss_plot.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

#include "ui/plots/plot_support.h"

namespace qb::ui {

namespace {

/// Curves beyond this many share the legend's last entry ("… N more").
constexpr int kNamedCurves = 8;

/// The colour of curve i of n: the series palette for a few layers; for many, a ramp from the
/// first layer (light) to the last (dark), so depth reads at a glance.
QColor curveColor(int i, int n) {
    if (n <= kNamedCurves) return seriesColor(i);
    const QColor a = seriesColor(0), b = seriesColor(1);
    const double t = n > 1 ? double(i) / double(n - 1) : 1.0;
    return QColor::fromRgbF(float(a.redF() + t * (b.redF() - a.redF())), float(a.greenF() + t * (b.greenF() - a.greenF())),
                            float(a.blueF() + t * (b.blueF() - a.blueF())));
}

}  // namespace

QCustomPlot* createTrainingLossPlot(const QString& objectName) {
    auto* plot = createPlot(objectName,
                            QObject::tr("OmniQuant's block loss per epoch: the MSE between the layer's output with quantized\n"
                                        "weights (and activations, where the plan quantizes them) on the quantized model's inputs\n"
                                        "and the float layer's output on the float model's inputs; one line per layer (log axis)."),
                            [](QCustomPlot* p, const QPointF& pos) -> QString {
                                if (!p->axisRect()->rect().contains(pos.toPoint())) return {};
                                // The nearest point of any curve, within 12 pixels.
                                double best = 144.0;
                                QString text;
                                for (int g = 0; g < p->graphCount(); ++g) {
                                    const QCPGraph* graph = p->graph(g);
                                    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
                                        const QPointF at(p->xAxis->coordToPixel(it->key), p->yAxis->coordToPixel(it->value));
                                        const double d = (at.x() - pos.x()) * (at.x() - pos.x()) + (at.y() - pos.y()) * (at.y() - pos.y());
                                        if (d < best) {
                                            best = d;
                                            text = QObject::tr("%1, epoch %2: loss %3").arg(graph->name()).arg(it->key).arg(compactNumber(it->value));
                                        }
                                    }
                                }
                                return text;
                            });
    plot->xAxis->setLabel(QObject::tr("epoch"));
    auto epochs = QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed);  // whole epochs only
    epochs->setTickStep(1.0);
    epochs->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->xAxis->setTicker(epochs);
    plot->yAxis->setLabel(QObject::tr("block loss (MSE, log scale)"));
    plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    plot->legend->setVisible(false);
    return plot;
}

void fillTrainingLoss(QCustomPlot* plot, const std::vector<LossCurve>& curves, const QString& title) {
    clearPlotContent(plot);
    if (!title.isEmpty()) setPlotTitle(plot, title);
    double lo = INFINITY, hi = 0.0, last = 1.0;
    const int n = int(curves.size());
    for (int i = 0; i < n; ++i) {
        QCPGraph* graph = plot->addGraph();
        graph->setName(curves[std::size_t(i)].name);
        QPen pen(curveColor(i, n));
        pen.setWidthF(i == n - 1 ? 2.2 : 1.3);
        graph->setPen(pen);
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, curveColor(i, n), i == n - 1 ? 5 : 3));
        for (const QPointF& p : curves[std::size_t(i)].points) {
            if (!(p.y() > 0.0) || !std::isfinite(p.y())) continue;  // a log axis has no place for them
            graph->addData(p.x(), p.y());
            lo = std::min(lo, p.y()), hi = std::max(hi, p.y()), last = std::max(last, p.x());
        }
        if (n > kNamedCurves && i > 0 && i < n - 1) graph->removeFromLegend();  // the first and the last are named
    }
    if (n == 0 || hi <= 0.0) {
        setPlotMessage(plot, QObject::tr("No training loss yet."));
        plot->yAxis->setRange(1e-3, 1.0);
        plot->xAxis->setRange(0.5, 1.5);
    } else {
        setPlotMessage(plot, {});
        plot->yAxis->setRange(lo / 1.25, hi * 1.25);
        plot->xAxis->setRange(0.5, last + 0.5);
        plot->legend->setVisible(true);
    }
    plot->replot();
}

}  // namespace qb::ui

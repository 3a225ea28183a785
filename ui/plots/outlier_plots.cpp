#include "ui/plots/outlier_plots.h"

#include <algorithm>
#include <cmath>

#include "core/stats/activation_stats.h"
#include "core/stats/weight_stats.h"
#include "qcustomplot.h"
#include "ui/plots/plot_support.h"

namespace qb::ui {

namespace {

void clearPlot(QCustomPlot* plot) {
    plot->clearPlottables();
    plot->clearItems();
    plot->legend->setVisible(false);
    plot->yAxis->setScaleType(QCPAxis::stLinear);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
}

/// A straight segment as a legend-visible curve.
QCPCurve* segment(QCustomPlot* plot, double x0, double y0, double x1, double y1, const QPen& pen, const QString& name) {
    auto* curve = new QCPCurve(plot->xAxis, plot->yAxis);
    curve->setData(QVector<double>{0, 1}, QVector<double>{x0, x1}, QVector<double>{y0, y1});
    curve->setPen(pen);
    curve->setName(name);
    if (name.isEmpty()) curve->removeFromLegend();
    return curve;
}

QPen dashed(const QColor& c, Qt::PenStyle style = Qt::DashLine) { return QPen(c, 1.6, style); }

/// Index of the data point of graph nearest to pixel x, or -1.
int nearestIndex(QCPGraph* graph, double pixelX) {
    if (!graph || graph->dataCount() == 0) return -1;
    const double key = graph->keyAxis()->pixelToCoord(pixelX);
    auto it = graph->data()->findBegin(key, true);
    if (it == graph->data()->constEnd()) return -1;
    int best = int(it - graph->data()->constBegin());
    if (it + 1 != graph->data()->constEnd() && std::abs((it + 1)->key - key) < std::abs(it->key - key)) ++best;
    return best;
}

QString graphReadout(QCustomPlot* plot, const QPointF& pos, const QString& keyName, const QString& valueName) {
    if (plot->graphCount() == 0 || !plot->axisRect()->rect().contains(pos.toPoint())) return {};
    QCPGraph* graph = plot->graph(0);
    const int i = nearestIndex(graph, pos.x());
    if (i < 0) return {};
    const auto p = graph->data()->at(i);
    return QStringLiteral("%1 %2\n%3 = %4").arg(keyName).arg(p->key).arg(valueName, compactNumber(p->value));
}

}  // namespace

QString missingStatsMessage() { return QObject::tr("No statistics for this module yet.\nRun Inspect (F6) to compute them."); }

QCustomPlot* createWeightHistogramPlot() {
    QCustomPlot* plot = nullptr;
    plot = createPlot(
        QStringLiteral("weightHistogram"),
        QObject::tr("Histogram of the module's weights w over [−max|w|, +max|w|], count on a log axis.\n"
                    "Dashed lines: mean ± 3σ and ± 6σ. Weights beyond 6σ stretch a min-max quantization grid,\n"
                    "so most weights get only a few of its levels (heavy tails = high excess kurtosis)."),
        [](QCustomPlot* p, const QPointF& pos) -> QString {
            if (p->plottableCount() == 0 || !p->axisRect()->rect().contains(pos.toPoint())) return {};
            auto* bars = qobject_cast<QCPBars*>(p->plottable(0));
            if (!bars || bars->dataCount() == 0) return {};
            const double key = p->xAxis->pixelToCoord(pos.x());
            auto it = bars->data()->findBegin(key, true);
            if (it == bars->data()->constEnd()) return {};
            if (it + 1 != bars->data()->constEnd() && std::abs((it + 1)->key - key) < std::abs(it->key - key)) ++it;
            const double half = bars->width() / 2;
            return QObject::tr("w ∈ [%1, %2)\ncount %3").arg(compactNumber(it->key - half), compactNumber(it->key + half)).arg(it->value);
        });
    plot->xAxis->setLabel(QObject::tr("weight value w (dimensionless)"));
    plot->yAxis->setLabel(QObject::tr("count (log scale)"));
    setPlotTitle(plot, QObject::tr("Weight distribution"));
    // The legend goes below the axes, in one row: inside, it covered the histogram's peak.
    plot->axisRect()->insetLayout()->take(plot->legend);
    const int legendRow = plot->plotLayout()->rowCount();
    plot->plotLayout()->addElement(legendRow, 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(legendRow, 0.001);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setWrap(1);  // one entry per row: the σ entries are too long to share a row
    plot->legend->setObjectName(QStringLiteral("weightHistogramLegend"));
    return plot;
}

void fillWeightHistogram(QCustomPlot* plot, const core::WeightStats* stats, const QString& module) {
    clearPlot(plot);
    setPlotTitle(plot, QObject::tr("Weight distribution\n%1").arg(module));
    if (!stats || stats->histogram.bins() == 0) {
        setPlotMessage(plot, missingStatsMessage());
        plot->replot();
        return;
    }
    const auto& h = stats->histogram;
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(QObject::tr("weights (%1 bins)").arg(h.bins()));
    const double width = h.edges[1] - h.edges[0];
    bars->setWidth(width);
    bars->setBaseValue(0.5);
    bars->setPen(Qt::NoPen);
    bars->setBrush(seriesColor(0));
    double maxCount = 1;
    for (int i = 0; i < h.bins(); ++i) {
        if (h.counts[std::size_t(i)] == 0) continue;
        bars->addData(0.5 * (h.edges[std::size_t(i)] + h.edges[std::size_t(i) + 1]), double(h.counts[std::size_t(i)]));
        maxCount = std::max(maxCount, double(h.counts[std::size_t(i)]));
    }
    plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    const double top = maxCount * 3.0;
    const double m = stats->mean, s = stats->std;
    segment(plot, m - 3 * s, 0.5, m - 3 * s, top, dashed(warningColor()),
            QObject::tr("mean ± 3σ (%1 beyond)").arg(QString::number(stats->fracBeyond3Sigma * 100, 'g', 3) + QStringLiteral(" %")));
    segment(plot, m + 3 * s, 0.5, m + 3 * s, top, dashed(warningColor()), {});
    segment(plot, m - 6 * s, 0.5, m - 6 * s, top, dashed(alarmColor(), Qt::DashDotLine),
            QObject::tr("mean ± 6σ (%1 beyond)").arg(QString::number(stats->fracBeyond6Sigma * 100, 'g', 3) + QStringLiteral(" %")));
    segment(plot, m + 6 * s, 0.5, m + 6 * s, top, dashed(alarmColor(), Qt::DashDotLine), {});
    const double span = std::max({stats->absmax, std::abs(m - 6 * s), std::abs(m + 6 * s)}) * 1.05;
    plot->xAxis->setRange(-span, span);
    plot->yAxis->setRange(0.5, top);
    plot->legend->setVisible(true);
    setPlotMessage(plot, {});
    plot->replot();
}

QCustomPlot* createActivationAbsmaxPlot() {
    auto* plot = createPlot(
        QStringLiteral("activationAbsmax"),
        QObject::tr("Per input channel j: max over calibration tokens of |x_tj|, the module's input activation.\n"
                    "Red line: LLM.int8() threshold 6.0 (Dettmers et al. 2022) — channels reaching it are outliers.\n"
                    "Orange line: the relative rule, factor × median channel max. Outlier channels are circled."),
        [](QCustomPlot* p, const QPointF& pos) { return graphReadout(p, pos, QObject::tr("channel"), QObject::tr("max |x|")); });
    plot->xAxis->setLabel(QObject::tr("input channel j (index)"));
    plot->yAxis->setLabel(QObject::tr("max over tokens |x| (activation units)"));
    setPlotTitle(plot, QObject::tr("Activation max |x| per input channel"));
    return plot;
}

void fillActivationAbsmax(QCustomPlot* plot, const core::ActivationStats* stats, const QString& module) {
    clearPlot(plot);
    setPlotTitle(plot, QObject::tr("Activation max |x| per input channel\n%1").arg(module));
    if (!stats || stats->absmax.size() == 0) {
        setPlotMessage(plot, stats ? QObject::tr("No calibration input reached this module.") : missingStatsMessage());
        plot->replot();
        return;
    }
    const auto n = int(stats->absmax.size());
    QVector<double> keys(n), values(n);
    for (int j = 0; j < n; ++j) {
        keys[j] = j;
        values[j] = stats->absmax[j];
    }
    auto* all = plot->addGraph();
    all->setName(QObject::tr("max |x| (%1 tokens)").arg(stats->tokens));
    all->setLineStyle(QCPGraph::lsImpulse);
    all->setPen(QPen(seriesColor(0), 1.5));
    all->setData(keys, values, true);
    auto* outliers = plot->addGraph();
    outliers->setName(QObject::tr("outlier channels (%1)").arg(stats->outliers.size()));
    outliers->setLineStyle(QCPGraph::lsNone);
    outliers->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, alarmColor(), 9));
    outliers->setPen(QPen(alarmColor(), 2));
    for (const auto& o : stats->outliers) outliers->addData(double(o.index), o.absmax);
    const double maxValue = std::max(stats->absmax.maxCoeff(), stats->options.llmInt8Threshold);
    const double relative = stats->options.relativeFactor * stats->medianAbsmax;
    segment(plot, -0.5, stats->options.llmInt8Threshold, n - 0.5, stats->options.llmInt8Threshold, dashed(alarmColor()),
            QObject::tr("LLM.int8() threshold %1").arg(stats->options.llmInt8Threshold));
    if (relative > 0)
        segment(plot, -0.5, relative, n - 0.5, relative, dashed(warningColor()),
                QObject::tr("relative: %1 × median = %2").arg(stats->options.relativeFactor).arg(compactNumber(relative)));
    plot->xAxis->setRange(-0.5 - channelPad(n), n - 0.5 + channelPad(n));  // the first and last channel's circle stays whole
    plot->yAxis->setRange(0, std::max(maxValue, relative) * 1.12);
    plot->legend->setVisible(true);
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    setPlotMessage(plot, {});
    plot->replot();
}

QCustomPlot* createRowAbsmaxPlot() {
    auto* plot = createPlot(
        QStringLiteral("rowAbsmax"),
        QObject::tr("Per output row i: max_j |W_ij|. A per-row (or per-group) quantization grid is scaled by this\n"
                    "value, so a row with a large max spends its levels on one weight."),
        [](QCustomPlot* p, const QPointF& pos) { return graphReadout(p, pos, QObject::tr("row"), QObject::tr("max |w|")); });
    plot->xAxis->setLabel(QObject::tr("output row i (index)"));
    plot->yAxis->setLabel(QObject::tr("max over inputs |w| (dimensionless)"));
    setPlotTitle(plot, QObject::tr("Weight max |w| per output row"));
    return plot;
}

void fillRowAbsmax(QCustomPlot* plot, const core::WeightStats* stats, const QString& module) {
    clearPlot(plot);
    setPlotTitle(plot, QObject::tr("Weight max |w| per output row\n%1").arg(module));
    if (!stats || stats->rowAbsmax.size() == 0) {
        setPlotMessage(plot, missingStatsMessage());
        plot->replot();
        return;
    }
    const auto n = int(stats->rowAbsmax.size());
    QVector<double> keys(n), values(n);
    for (int i = 0; i < n; ++i) {
        keys[i] = i;
        values[i] = stats->rowAbsmax[i];
    }
    auto* graph = plot->addGraph();
    graph->setName(QObject::tr("max |w| of the row"));
    graph->setLineStyle(QCPGraph::lsImpulse);
    graph->setPen(QPen(seriesColor(2), 1.5));
    graph->setData(keys, values, true);
    std::vector<double> sorted(values.begin(), values.end());
    std::nth_element(sorted.begin(), sorted.begin() + n / 2, sorted.end());
    const double median = sorted[std::size_t(n / 2)];
    segment(plot, -0.5, median, n - 0.5, median, dashed(seriesColor(6)), QObject::tr("median %1").arg(compactNumber(median)));
    plot->xAxis->setRange(-0.5, n - 0.5);
    plot->yAxis->setRange(0, stats->absmax * 1.12);
    plot->legend->setVisible(true);
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    setPlotMessage(plot, {});
    plot->replot();
}

}  // namespace qb::ui

// The token × channel |x| heatmap of the Outliers view (declared in outlier_plots.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/stats/activation_stats.h"
#include "qcustomplot.h"
#include "ui/plots/outlier_plots.h"
#include "ui/plots/plot_support.h"

namespace qb::ui {

namespace {

QCPColorScale* colorScaleOf(QCustomPlot* plot) {
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* s = qobject_cast<QCPColorScale*>(plot->plotLayout()->elementAt(i))) return s;
    return nullptr;
}

QCPColorMap* colorMapOf(QCustomPlot* plot) {
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* m = qobject_cast<QCPColorMap*>(plot->plottable(i))) return m;
    return nullptr;
}

}  // namespace

QCustomPlot* createActivationHeatmapPlot() {
    auto* plot = createPlot(
        QStringLiteral("activationHeatmap"),
        QObject::tr("|x| of the first calibration tokens (rows) in every input channel (columns), log colour scale.\n"
                    "Outlier channels show as bright vertical stripes: the same channels are large for every token,\n"
                    "which is why per-channel scaling (SmoothQuant, AWQ) or FP outlier columns (LLM.int8()) help."),
        [](QCustomPlot* p, const QPointF& pos) -> QString {
            QCPColorMap* map = colorMapOf(p);
            if (!map || !p->axisRect()->rect().contains(pos.toPoint())) return {};
            int key = 0, value = 0;
            map->data()->coordToCell(p->xAxis->pixelToCoord(pos.x()), p->yAxis->pixelToCoord(pos.y()), &key, &value);
            if (key < 0 || value < 0 || key >= map->data()->keySize() || value >= map->data()->valueSize()) return {};
            return QObject::tr("token %1, channel %2\n|x| = %3").arg(value).arg(key).arg(compactNumber(map->data()->cell(key, value)));
        });
    plot->xAxis->setLabel(QObject::tr("input channel j (index)"));
    plot->yAxis->setLabel(QObject::tr("calibration token t (index)"));
    auto* scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount() - 1, 1, scale);
    scale->setType(QCPAxis::atRight);
    scale->setDataScaleType(QCPAxis::stLogarithmic);
    scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    scale->axis()->setLabel(QObject::tr("|x| (log scale)"));
    scale->setGradient(heatGradient());
    auto* group = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    setPlotTitle(plot, QObject::tr("Activation |x|, tokens × channels"));
    applyPalette(plot);
    const QColor text = plot->palette().color(QPalette::Text);
    scale->axis()->setTickLabelColor(text);
    scale->axis()->setLabelColor(text);
    scale->axis()->setBasePen(QPen(text));
    scale->axis()->setTickPen(QPen(text));
    return plot;
}

void fillActivationHeatmap(QCustomPlot* plot, const core::ActivationStats* stats, const QString& module) {
    plot->clearPlottables();
    plot->clearItems();
    plot->legend->setVisible(false);
    setPlotTitle(plot, QObject::tr("Activation |x|, tokens × channels (▼ outlier channels)\n%1").arg(module));
    QCPColorScale* scale = colorScaleOf(plot);
    if (!stats || stats->sample.size() == 0) {
        setPlotMessage(plot, stats ? QObject::tr("No calibration input reached this module.") : missingStatsMessage());
        plot->replot();
        return;
    }
    const auto& sample = stats->sample;  // [tokens, in]
    const int tokens = int(sample.rows()), channels = int(sample.cols());
    auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
    map->setName(QObject::tr("|x|"));
    map->data()->setSize(channels, tokens);
    map->data()->setRange(QCPRange(0, channels - 1), QCPRange(0, tokens - 1));
    double maxValue = 0.0, minPositive = std::numeric_limits<double>::infinity();
    for (int t = 0; t < tokens; ++t)
        for (int c = 0; c < channels; ++c) {
            const double v = std::abs(double(sample(t, c)));
            maxValue = std::max(maxValue, v);
            if (v > 0) minPositive = std::min(minPositive, v);
        }
    if (maxValue <= 0) maxValue = 1.0;
    // Log colours cannot show 0: values below floor are drawn at floor (4 decades below the max).
    const double floor = std::max(std::isfinite(minPositive) ? minPositive : maxValue * 1e-4, maxValue * 1e-4);
    for (int t = 0; t < tokens; ++t)
        for (int c = 0; c < channels; ++c) map->data()->setCell(c, t, std::max(floor, std::abs(double(sample(t, c)))));
    map->setInterpolate(false);
    map->setGradient(heatGradient());
    if (scale) map->setColorScale(scale);
    map->setDataScaleType(QCPAxis::stLogarithmic);
    map->setDataRange(QCPRange(floor, maxValue));

    // Outlier channels: a red frame around the column and a marker above it.
    const double markerY = tokens - 0.5 + std::max(1.0, tokens * 0.05);
    auto* markers = plot->addGraph();
    markers->setName(QObject::tr("outlier channel"));
    markers->setLineStyle(QCPGraph::lsNone);
    markers->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangleInverted, alarmColor(), alarmColor(), 10));
    // Label the largest outliers first, skipping one whose label would touch an earlier one.
    std::vector<double> labelledAt;
    const double minGap = std::max(2.0, channels / 14.0);
    for (const auto& o : stats->outliers) {
        const double c = double(o.index);
        markers->addData(c, markerY);
        auto* frame = new QCPItemRect(plot);
        frame->topLeft->setCoords(c - 0.5, tokens - 0.5);
        frame->bottomRight->setCoords(c + 0.5, -0.5);
        frame->setPen(QPen(alarmColor(), 1.5));
        frame->setBrush(Qt::NoBrush);
        const bool crowded = std::any_of(labelledAt.begin(), labelledAt.end(), [&](double x) { return std::abs(x - c) < minGap; });
        if (!crowded && labelledAt.size() < 8) {
            labelledAt.push_back(c);
            auto* label = new QCPItemText(plot);
            label->position->setCoords(c, markerY);
            // Centred over its channel, but kept inside the plot at either edge ("ch 171" of 172).
            const double edge = std::max(3.0, channels * 0.04);
            const Qt::Alignment h = c >= channels - edge ? Qt::AlignRight : c < edge ? Qt::AlignLeft : Qt::AlignHCenter;
            label->setPositionAlignment(Qt::AlignBottom | h);
            label->setObjectName(QStringLiteral("channelLabel"));
            label->setText(QStringLiteral("ch %1").arg(o.index));
            label->setColor(alarmColor());
            label->setPadding(QMargins(0, 0, 0, 6));
        }
    }
    plot->xAxis->setRange(-0.5 - channelPad(channels), channels - 0.5 + channelPad(channels));  // the last marker stays whole
    plot->yAxis->setRange(-0.5, markerY + std::max(2.0, tokens * 0.08));
    plot->legend->setVisible(false);  // the ▼ markers and "ch N" labels explain themselves (see the title)
    setPlotMessage(plot, {});
    plot->replot();
}

}  // namespace qb::ui

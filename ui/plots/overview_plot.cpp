#include "ui/plots/overview_plot.h"

#include <cmath>
#include <limits>

#include <qcustomplot.h>

#include "core/model/decoder_layer.h"
#include "ui/models/loaded_model.h"
#include "ui/models/model_stats.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {
constexpr int kKinds = int(core::kAllModuleKinds.size());
}  // namespace

QCustomPlot* createOverviewPlot(const QString& explanation, ReadoutFn readout, std::function<void()> resetView) {
    QCustomPlot* plot = createPlot(QStringLiteral("overviewHeatmap"), explanation, std::move(readout), std::move(resetView));
    plot->setInteractions(QCP::Interactions());  // a fixed grid: clicks select, no pan/zoom
    plot->xAxis->setLabel(QObject::tr("module kind"));
    plot->yAxis->setLabel(QObject::tr("decoder layer (index)"));
    plot->yAxis->setRangeReversed(true);
    auto* scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(0, 1, scale);
    scale->setGradient(heatGradient());
    auto* group = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    setPlotTitle(plot, QObject::tr("Overview"));
    applyPalette(plot);
    return plot;
}

void fillOverview(QCustomPlot* plot, const ModelStats* stats, int layers, ModuleStatistic statistic) {
    const ModuleStatisticInfo& info = statisticInfo(statistic);
    plot->clearPlottables();
    plot->clearItems();
    setPlotMessage(plot, {});
    QCPColorScale* scale = qobject_cast<QCPColorScale*>(plot->plotLayout()->element(1, 1));
    setPlotTitle(plot, QObject::tr("Overview — %1 by layer and module").arg(statisticName(statistic)));
    auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    for (int k = 0; k < kKinds; ++k) ticker->addTick(k, toQString(shortKindName(core::kAllModuleKinds[std::size_t(k)])));
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setRange(-0.5, kKinds - 0.5);
    plot->yAxis->setRange(-0.5, std::max(layers, 1) - 0.5);
    if (!stats || layers == 0) {
        setPlotMessage(plot, layers == 0 ? QObject::tr("Open a model to see its overview.") : QObject::tr("Run Inspect (F6) to compute the statistics."));
        plot->replot();
        return;
    }
    auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
    map->data()->setSize(kKinds, layers);
    map->data()->setRange(QCPRange(0, kKinds - 1), QCPRange(0, layers - 1));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    const bool labels = layers <= 40;
    std::vector<std::pair<QCPItemText*, double>> texts;
    for (int l = 0; l < layers; ++l)
        for (int k = 0; k < kKinds; ++k) {
            const auto* m = stats->find(core::moduleName(l, core::kAllModuleKinds[std::size_t(k)]));
            // The value as a plain double (NaN when the module or its statistic is missing):
            // GCC 12 warned falsely (maybe-uninitialized) on the optional read in a conditional.
            const std::optional<double> v = m ? statisticValue(*m, info.statistic) : std::optional<double>();
            const double value = v.value_or(std::numeric_limits<double>::quiet_NaN());
            const bool usable = std::isfinite(value) && (!info.logScale || value > 0);
            const double cell = usable ? value : std::numeric_limits<double>::quiet_NaN();
            map->data()->setCell(k, l, cell);
            if (usable) {
                lo = std::min(lo, value);
                hi = std::max(hi, value);
            }
            if (labels) {
                auto* text = new QCPItemText(plot);
                text->position->setCoords(k, l);
                text->setText(v ? compactNumber(value) : QObject::tr("n/a"));
                texts.emplace_back(text, cell);
                QFont f = plot->font();
                f.setPointSizeF(f.pointSizeF() * 0.85);
                text->setFont(f);
            }
        }
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (hi <= lo) hi = lo + (lo == 0 ? 1 : std::abs(lo) * 0.01);
    // Dark text on the bright end of the gradient, light text on the dark end.
    for (const auto& [text, v] : texts) {
        const double t = std::isnan(v) ? 0.0
                         : info.logScale ? (std::log(v) - std::log(lo)) / std::max(1e-12, std::log(hi) - std::log(lo))
                                         : (v - lo) / (hi - lo);
        text->setColor(std::isnan(v) ? plot->palette().color(QPalette::Text) : (t > 0.6 ? Qt::black : Qt::white));
    }
    map->setInterpolate(false);
    map->setGradient(heatGradient());
    map->setColorScale(scale);
    scale->setDataScaleType(info.logScale ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    scale->axis()->setTicker(info.logScale ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                                           : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    scale->axis()->setLabel(statisticName(statistic));
    map->setDataRange(QCPRange(lo, hi));
    applyPalette(plot);
    const QColor text = plot->palette().color(QPalette::Text);
    scale->axis()->setTickLabelColor(text);
    scale->axis()->setLabelColor(text);
    plot->replot();
}

}  // namespace qb::ui

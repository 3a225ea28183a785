#include "ui/plots/latency_plots.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "qcustomplot.h"
#include "ui/plots/plot_support.h"
#include "ui/plots/results_plots.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

/// One of the two speed metrics of a run.
struct SpeedMetric {
    std::function<std::optional<double>(const RunRecord&)> get;
    bool lowerIsBetter = true;
    std::function<QString(double)> format;  ///< "0.0523 ms", "151,234 tok/s"
};

/// The read-out of the row under the mouse (the row texts are stored on the plot).
QString rowReadout(QCustomPlot* plot, const QPointF& pos) {
    if (!plot->axisRect()->rect().contains(pos.toPoint())) return {};
    const int row = int(std::lround(plot->yAxis->pixelToCoord(pos.y())));
    return plot->property("rowReadouts").toStringList().value(row);
}

QCustomPlot* createSpeedPlot(const QString& objectName, const QString& explanation, const QString& axisLabel, const QString& title) {
    auto* plot = createPlot(objectName, explanation, rowReadout);
    plot->xAxis->setLabel(axisLabel);
    plot->yAxis->setRangeReversed(true);  // the first run on top, as in the table
    setPlotTitle(plot, title);
    return plot;
}

QCPBars* newBars(QCustomPlot* plot, const QString& name, const QColor& color) {
    auto* bars = new QCPBars(plot->yAxis, plot->xAxis);  // key axis vertical: horizontal bars
    bars->setName(name);
    bars->setWidth(0.65);
    bars->setPen(Qt::NoPen);
    bars->setBrush(color);
    return bars;
}

void fillSpeedBars(QCustomPlot* plot, const std::vector<RunPtr>& runs, const SpeedMetric& metric) {
    plot->clearPlottables();
    plot->clearItems();
    RunPtr fp16;
    for (const auto& r : runs)
        if (r->kind == RunKind::Fp16Baseline && metric.get(*r)) fp16 = r;
    const std::optional<double> reference = fp16 ? metric.get(*fp16) : std::nullopt;
    auto* quantized = newBars(plot, QObject::tr("quantized runs"), seriesColor(1));
    auto* baselines = newBars(plot, QObject::tr("baselines"), seriesColor(6));
    QVector<double> ticks;
    QVector<QString> labels;
    QStringList readouts;
    double top = 0;
    const QColor textColor = plot->palette().color(QPalette::Text);
    QFont small = plot->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const RunRecord& run = *runs[i];
        const double key = double(i);
        ticks << key;
        labels << shortRunLabel(run);
        auto* text = new QCPItemText(plot);
        text->setPositionAlignment(Qt::AlignLeft | Qt::AlignVCenter);
        text->setPadding(QMargins(4, 0, 0, 0));
        text->setClipToAxisRect(true);
        text->setFont(small);
        const auto value = metric.get(run);
        if (!value) {
            text->position->setCoords(0, key);
            text->setText(QObject::tr("not measured"));
            text->setColor(QColor(128, 128, 128));
            readouts << toQString(run.name) + QObject::tr(": not measured (Run › Benchmark Runs)");
            continue;
        }
        (run.isBaseline() ? baselines : quantized)->addData(key, *value);
        top = std::max(top, *value);
        QString label = metric.format(*value);
        QString readout = toQString(run.name) + QStringLiteral(": ") + label;
        if (run.kind == RunKind::Fp16Baseline) {
            label += QObject::tr(" · FP16");
        } else if (reference && *reference > 0 && *value > 0) {
            const QString ratio = speedupText(speedupOver(*value, *reference, metric.lowerIsBetter));
            label += QStringLiteral(" · ") + ratio;
            readout += QStringLiteral(", ") + ratio + QObject::tr(" than FP16");
        }
        if (run.benchPromptTokens > 0)
            readout += QObject::tr("\n%1 prompt + %2 generated tokens").arg(run.benchPromptTokens).arg(run.benchGenTokens);
        text->position->setCoords(*value, key);
        text->setText(label);
        text->setColor(textColor);
        readouts << readout;
    }
    plot->setProperty("rowReadouts", readouts);
    if (reference) {
        auto* line = new QCPItemStraightLine(plot);
        line->point1->setCoords(*reference, 0);
        line->point2->setCoords(*reference, 1);
        line->setPen(QPen(seriesColor(6), 1.2, Qt::DashLine));
    }
    auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    ticker->setTicks(ticks, labels);
    plot->yAxis->setTicker(ticker);
    plot->yAxis->setRange(-0.6, std::max<double>(1.0, double(runs.size())) - 0.4);
    plot->xAxis->setRange(0, top > 0 ? top * 2.2 : 1.0);  // room for the labels right of the bars
    setPlotMessage(plot, top > 0 ? QString() : QObject::tr("not measured\n(Run › Benchmark Runs)"));
    plot->replot();
}

}  // namespace

double speedupOver(double value, double reference, bool lowerIsBetter) {
    return lowerIsBetter ? reference / value : value / reference;
}

QString speedupText(double speedup) {
    if (speedup >= 1.0) return QObject::tr("%1× faster").arg(speedup, 0, 'f', 2);
    return QObject::tr("%1× slower").arg(1.0 / speedup, 0, 'f', 2);
}

QCustomPlot* createLatencyPlot() {
    return createSpeedPlot(QStringLiteral("latencyBars"),
                           QObject::tr("Decode latency: median milliseconds per generated token of greedy KV-cache decoding,\n"
                                       "from the benchmark job (lower is better), against the FP16 baseline (dashed).\n"
                                       "Runs without a benchmark say 'not measured' — no value is ever estimated."),
                           QObject::tr("decode latency (ms / token)"), QObject::tr("Decode ms/token vs FP16"));
}

QCustomPlot* createPrefillPlot() {
    return createSpeedPlot(QStringLiteral("prefillBars"),
                           QObject::tr("Prefill throughput: prompt tokens per second when the prompt runs as one window,\n"
                                       "from the benchmark job (higher is better), against the FP16 baseline (dashed)."),
                           QObject::tr("prefill throughput (tokens / s)"), QObject::tr("Prefill tokens/s vs FP16"));
}

void fillLatency(QCustomPlot* plot, const std::vector<RunPtr>& runs) {
    fillSpeedBars(plot, runs, {[](const RunRecord& r) { return r.decodeMsPerToken; }, true,
                               [](double v) { return compactNumber(v) + QObject::tr(" ms"); }});
}

void fillPrefill(QCustomPlot* plot, const std::vector<RunPtr>& runs) {
    fillSpeedBars(plot, runs, {[](const RunRecord& r) { return r.prefillTokensPerSecond; }, false,
                               [](double v) { return withThousands(std::uint64_t(std::llround(v))) + QObject::tr(" tok/s"); }});
}

}  // namespace qb::ui

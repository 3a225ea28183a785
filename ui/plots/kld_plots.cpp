#include "ui/plots/kld_plots.h"

#include <algorithm>
#include <cmath>

#include "qcustomplot.h"
#include "ui/plots/plot_support.h"
#include "ui/plots/results_plots.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

/// The read-out stored for bar i at fill time (property "barReadouts"), for the mouse at pos.
QString barReadout(QCustomPlot* p, const QPointF& pos) {
    if (!p->axisRect()->rect().contains(pos.toPoint())) return {};
    const int i = int(std::lround(p->xAxis->pixelToCoord(pos.x())));
    return p->property("barReadouts").toStringList().value(i);
}

QCustomPlot* createBarPlot(const QString& objectName, const QString& explanation, const QString& title, const QString& yLabel) {
    auto* plot = createPlot(objectName, explanation, barReadout);
    plot->yAxis->setLabel(yLabel);
    plot->xAxis->setLabel(QObject::tr("run"));
    setPlotTitle(plot, title);
    return plot;
}

/// One bar per run with value(run), labelled with label(value) above it.
void fillBars(QCustomPlot* plot, const std::vector<RunPtr>& runs, const std::function<double(const RunRecord&)>& value,
              const std::function<QString(double)>& label, const std::function<QString(const RunRecord&)>& readout, double yMax) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setWidth(0.6);
    bars->setPen(Qt::NoPen);
    bars->setBrush(seriesColor(0));
    auto* base = new QCPBars(plot->xAxis, plot->yAxis);
    base->setWidth(0.6);
    base->setPen(Qt::NoPen);
    base->setBrush(seriesColor(6));
    QVector<double> ticks;
    QVector<QString> labels;
    QStringList readouts;
    QFont small = plot->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const double v = value(*runs[i]);
        (runs[i]->isBaseline() ? base : bars)->addData(double(i), v);
        ticks << double(i);
        labels << shortRunLabel(*runs[i]);
        readouts << readout(*runs[i]);
        auto* text = new QCPItemText(plot);
        text->position->setCoords(double(i), v);
        text->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
        text->setPadding(QMargins(0, 0, 0, 3));
        text->setFont(small);
        text->setColor(plot->palette().color(QPalette::Text));
        text->setText(label(v));
    }
    plot->setProperty("barReadouts", readouts);
    auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    ticker->setTicks(ticks, labels);
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setRange(-0.6, double(runs.size()) - 0.4);
    plot->yAxis->setRange(0, yMax);
}

/// Name, KLD statistics and top-1 agreement of a run: the read-out of either bar plot.
QString kldReadout(const RunRecord& run) {
    const core::KldStatistics& s = *run.kld;
    return QObject::tr("%1\nKL(FP16‖run): mean %2, median %3, p99 %4, max %5 nats\ntop-1 agreement %6 %\nRMS Δp %7 %")
        .arg(toQString(run.name), compactNumber(s.kldMean), compactNumber(s.kldMedian), compactNumber(s.kldP99),
             compactNumber(s.kldMax))
        .arg(s.top1AgreementPercent, 0, 'f', 2)
        .arg(s.deltaPRmsPercent, 0, 'f', 3);
}

}  // namespace

QCustomPlot* createKldPlot() {
    return createBarPlot(QStringLiteral("kldBars"),
                         QObject::tr("Mean KL divergence KL(P‖Q) per token of each run's next-token distribution Q from the\n"
                                     "FP16 baseline's P, over the evaluation windows (nats; 0 = the same distributions)."),
                         QObject::tr("KL divergence from FP16 (mean)"), QObject::tr("KL(FP16‖run), nats per token"));
}

QCustomPlot* createTop1Plot() {
    return createBarPlot(QStringLiteral("top1Bars"),
                         QObject::tr("Top-1 agreement: the percentage of scored positions where the run's most likely next\n"
                                     "token is the FP16 baseline's (100 % = the same choice everywhere)."),
                         QObject::tr("Top-1 agreement with FP16"), QObject::tr("same argmax, % of positions"));
}

std::vector<RunPtr> runsWithKld(const std::vector<RunPtr>& runs) {
    std::vector<RunPtr> out;
    for (const auto& r : runs)
        if (r->kld) out.push_back(r);
    return out;
}

void fillKld(QCustomPlot* kld, QCustomPlot* top1, const std::vector<RunPtr>& all) {
    clearPlotContent(kld);
    clearPlotContent(top1);
    const auto runs = runsWithKld(all);
    const QString none = QObject::tr("No KL divergence yet.\nEvaluate the baseline (F7) or quantize with the plan (F5):\n"
                                     "each run is compared with the FP16 baseline.");
    setPlotMessage(kld, runs.empty() ? none : QString());
    setPlotMessage(top1, runs.empty() ? none : QString());
    if (!runs.empty()) {
        double top = 0;
        for (const auto& r : runs) top = std::max(top, r->kld->kldMean);
        fillBars(kld, runs, [](const RunRecord& r) { return r.kld->kldMean; }, [](double v) { return compactNumber(v); },
                 kldReadout, top > 0 ? top * 1.3 : 1.0);
        double bottom = 100;
        for (const auto& r : runs) bottom = std::min(bottom, r->kld->top1AgreementPercent);
        fillBars(top1, runs, [](const RunRecord& r) { return r.kld->top1AgreementPercent; },
                 [](double v) { return QStringLiteral("%1%").arg(v, 0, 'f', 1); }, kldReadout, 112.0);
        // Agreement near 100 %: start the axis below the lowest bar so differences show.
        top1->yAxis->setRangeLower(std::max(0.0, std::floor(bottom / 10.0) * 10.0 - 10.0));
    }
    kld->replot();
    top1->replot();
}

QString visibleTokenText(const std::string& bytes) {
    QString text = QString::fromUtf8(bytes.data(), qsizetype(bytes.size()));
    text.replace(QLatin1Char('\n'), QStringLiteral("↵"));
    text.replace(QLatin1Char('\t'), QStringLiteral("→"));
    text.replace(QLatin1Char('\r'), QStringLiteral("␍"));
    return QStringLiteral("“%1”").arg(text);
}

QCustomPlot* createTokenKldStrip() {
    auto* plot = createPlot(QStringLiteral("tokenKldStrip"),
                            QObject::tr("KL(FP16‖run) at every scored position of the chosen window: a tall bar is a token\n"
                                        "whose prediction the quantization changed. Hover a bar for the token it predicted."),
                            barReadout);
    plot->yAxis->setLabel(QObject::tr("KLD, nats"));
    plot->xAxis->setLabel(QObject::tr("position in the window"));
    setPlotTitle(plot, QObject::tr("Per-token KL divergence from FP16"));
    return plot;
}

void fillTokenKldStrip(QCustomPlot* plot, const RunPtr& run, int window, const TokenTextFn& tokenText) {
    clearPlotContent(plot);
    plot->setProperty("barReadouts", QStringList());
    const int n = run ? run->tokenKldWindowLength() : 0;
    if (n == 0 || window < 0 || window >= run->tokenKldWindows()) {
        setPlotMessage(plot, run && run->kld ? QObject::tr("%1 kept no per-token KL divergence (runs measured by the workbench do).")
                                                   .arg(toQString(run->name))
                                             : QObject::tr("Choose a run with a KL divergence from FP16."));
        plot->replot();
        return;
    }
    setPlotMessage(plot, {});
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setWidth(0.8);
    bars->setPen(Qt::NoPen);
    bars->setBrush(seriesColor(0));
    QStringList readouts;
    double top = 0;
    const std::size_t first = std::size_t(window) * std::size_t(n);
    for (int i = 0; i < n; ++i) {
        const double v = run->tokenKld[first + std::size_t(i)];
        bars->addData(double(i), v);
        top = std::max(top, v);
        const int token = run->tokenKldTargets[first + std::size_t(i)];
        readouts << QObject::tr("%1\nKLD %2 nats\nwindow %3, position %4 (token id %5)")
                        .arg(visibleTokenText(tokenText(token)), compactNumber(v))
                        .arg(window + 1)
                        .arg(i + 1)
                        .arg(token);
    }
    plot->setProperty("barReadouts", readouts);
    plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    plot->xAxis->setRange(-0.6, double(n) - 0.4);
    plot->yAxis->setRange(0, top > 0 ? top * 1.1 : 1.0);
    plot->replot();
}

}  // namespace qb::ui

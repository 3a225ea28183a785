#include "ui/plots/results_plots.h"

#include <algorithm>
#include <cmath>

#include "qcustomplot.h"
#include "ui/plots/plot_support.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

QSharedPointer<QCPAxisTickerText> textTicker(const QVector<double>& ticks, const QVector<QString>& labels) {
    auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    ticker->setTicks(ticks, labels);
    return ticker;
}

std::vector<RunPtr> withPerplexity(const std::vector<RunPtr>& runs) {
    std::vector<RunPtr> out;
    for (const auto& r : runs)
        if (r->perplexity) out.push_back(r);
    return out;
}

}  // namespace

namespace {
/// "#3", "F32", "FP16": the shortest label of a run for crowded scatter plots.
QString paretoLabel(const RunRecord& run) { return run.isBaseline() ? shortRunLabel(run) : QStringLiteral("#%1").arg(run.number); }
}  // namespace

QString shortRunLabel(const RunRecord& run) {
    if (run.isBaseline()) return run.precision.empty() ? QObject::tr("baseline") : toQString(run.precision);
    return QObject::tr("run %1").arg(run.number);
}

RunPtr perplexityReference(const std::vector<RunPtr>& runs) {
    RunPtr asLoaded;
    for (const auto& r : runs) {
        if (!r->perplexity) continue;
        if (r->kind == RunKind::Fp16Baseline) return r;
        if (r->kind == RunKind::Baseline && !asLoaded) asLoaded = r;
    }
    return asLoaded;
}

std::optional<double> perplexityDelta(const RunRecord& run, const RunPtr& reference) {
    if (!run.perplexity || !reference || !reference->perplexity || reference->perplexity->perplexity <= 0) return std::nullopt;
    return 100.0 * (run.perplexity->perplexity / reference->perplexity->perplexity - 1.0);
}

QString deltaText(double delta, int decimals) {
    // Round first: a change that rounds to zero reads "0.00 %", never "−0.00 %" or "+0.00 %".
    const double scale = std::pow(10.0, decimals);
    const double shown = std::round(delta * scale) / scale;
    if (shown == 0.0) return QStringLiteral("%1 %").arg(0.0, 0, 'f', decimals);
    return QStringLiteral("%1%2 %").arg(shown > 0 ? QStringLiteral("+") : QString()).arg(shown, 0, 'f', decimals);
}

std::vector<std::size_t> paretoFrontier(const std::vector<RunPtr>& runs) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (runs[i]->perplexity) idx.push_back(i);
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        if (runs[a]->bitsPerWeight != runs[b]->bitsPerWeight) return runs[a]->bitsPerWeight < runs[b]->bitsPerWeight;
        return runs[a]->perplexity->perplexity < runs[b]->perplexity->perplexity;
    });
    std::vector<std::size_t> frontier;
    double best = std::numeric_limits<double>::infinity();
    for (const std::size_t i : idx) {
        const double p = runs[i]->perplexity->perplexity;
        if (p < best) {
            frontier.push_back(i);
            best = p;
        }
    }
    return frontier;
}

QCustomPlot* createPerplexityPlot() {
    auto* plot = createPlot(QStringLiteral("perplexityBars"),
                            QObject::tr("Perplexity of every run on the evaluation text (lower is better).\n"
                                        "Δ% on the bars is relative to the FP16 baseline (the model's linears rounded to F16);\n"
                                        "the table and the read-out give it against the model as loaded (F32) too.\n"
                                        "Dashed line: FP16 baseline; dotted: the model as loaded."),
                            [](QCustomPlot* p, const QPointF& pos) -> QString {
                                if (!p->axisRect()->rect().contains(pos.toPoint())) return {};
                                const int i = int(std::lround(p->xAxis->pixelToCoord(pos.x())));
                                return p->property("barReadouts").toStringList().value(i);
                            });
    plot->yAxis->setLabel(QObject::tr("perplexity (exp of mean loss, nats)"));
    plot->xAxis->setLabel(QObject::tr("run"));
    setPlotTitle(plot, QObject::tr("Perplexity, Δ % vs FP16"));
    return plot;
}

namespace {

/// The label of a bar: a baseline's perplexity, or a quantized run's Δ% against the FP16
/// baseline (else the model as loaded). The read-out adds the perplexity and both Δ%.
QString barLabel(const RunRecord& run, const RunPtr& fp16, const RunPtr& asLoaded, QString& readout) {
    const double p = run.perplexity->perplexity;
    readout = QObject::tr("%1\nperplexity %2").arg(toQString(run.name)).arg(p, 0, 'f', 4);
    if (run.isBaseline()) return QString::number(p, 'f', 2);
    QString label;
    for (const RunPtr& ref : {fp16, asLoaded}) {
        const auto delta = perplexityDelta(run, ref);
        if (!delta) continue;
        readout += QObject::tr("\nΔ %1 vs %2").arg(deltaText(*delta, 2), shortRunLabel(*ref));
        if (label.isEmpty()) label = deltaText(*delta, 1).remove(QLatin1Char(' '));  // "+9.9%": bars are narrow
    }
    return label.isEmpty() ? QString::number(p, 'f', 2) : label;
}

}  // namespace

void fillPerplexity(QCustomPlot* plot, const std::vector<RunPtr>& all) {
    clearPlotContent(plot);
    const auto runs = withPerplexity(all);
    if (runs.empty()) {
        setPlotMessage(plot, QObject::tr("No run evaluated yet.\nEvaluate the baseline (F7) or quantize with the plan (F5)."));
        plot->replot();
        return;
    }
    setPlotMessage(plot, {});
    RunPtr fp16, asLoaded;
    for (const auto& r : runs) {
        if (r->kind == RunKind::Fp16Baseline && !fp16) fp16 = r;
        if (r->kind == RunKind::Baseline && !asLoaded) asLoaded = r;
    }
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(QObject::tr("perplexity"));
    bars->setWidth(0.6);
    bars->setPen(Qt::NoPen);
    bars->setBrush(seriesColor(0));
    auto* base = new QCPBars(plot->xAxis, plot->yAxis);
    base->setName(QObject::tr("baselines"));
    base->setWidth(0.6);
    base->setPen(Qt::NoPen);
    base->setBrush(seriesColor(6));
    QVector<double> ticks;
    QVector<QString> labels;
    QStringList readouts;
    double top = 0;
    QFont small = plot->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const double p = runs[i]->perplexity->perplexity;
        (runs[i]->isBaseline() ? base : bars)->addData(double(i), p);
        ticks << double(i);
        labels << shortRunLabel(*runs[i]);
        top = std::max(top, p);
        auto* text = new QCPItemText(plot);
        text->position->setCoords(double(i), p);
        text->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
        text->setPadding(QMargins(0, 0, 0, 3));
        text->setFont(small);
        QString readout;
        text->setText(barLabel(*runs[i], fp16, asLoaded, readout));
        readouts << readout;
        const auto delta = perplexityDelta(*runs[i], perplexityReference(runs));
        text->setColor(!runs[i]->isBaseline() && delta && *delta > 5 ? alarmColor() : plot->palette().color(QPalette::Text));
    }
    plot->setProperty("barReadouts", readouts);
    const std::pair<RunPtr, Qt::PenStyle> lines[] = {{asLoaded, Qt::DotLine}, {fp16, Qt::DashLine}};
    for (const auto& [ref, style] : lines) {
        if (!ref) continue;
        auto* line = new QCPItemStraightLine(plot);
        line->point1->setCoords(0, ref->perplexity->perplexity);
        line->point2->setCoords(1, ref->perplexity->perplexity);
        line->setPen(QPen(seriesColor(6), 1.2, style));
    }
    plot->xAxis->setTicker(textTicker(ticks, labels));
    plot->xAxis->setRange(-0.6, double(runs.size()) - 0.4);
    plot->yAxis->setRange(0, top * 1.3);
    plot->replot();
}

QCustomPlot* createParetoPlot() {
    auto* plot = createPlot(QStringLiteral("paretoScatter"),
                            QObject::tr("Size against quality: each point is a run. The frontier joins the runs that no other run\n"
                                        "beats on both bits per weight and perplexity."),
                            [](QCustomPlot* p, const QPointF& pos) -> QString {
                                for (int i = 0; i < p->itemCount(); ++i) {
                                    auto* label = qobject_cast<QCPItemText*>(p->item(i));
                                    if (!label) continue;
                                    const QPointF at = label->position->pixelPosition();
                                    if (QLineF(at, pos).length() < 12) return label->property("readout").toString();
                                }
                                return {};
                            });
    plot->xAxis->setLabel(QObject::tr("bits per weight (linear modules, log₂ scale)"));
    plot->yAxis->setLabel(QObject::tr("perplexity"));
    setPlotTitle(plot, QObject::tr("Pareto: size vs perplexity"));
    return plot;
}

namespace {

/// The autopilot's predicted frontier and the uniform plans' predicted costs on the right axis
/// (log scale; a cost ≤ 0, e.g. a plan of only fp16 modules, has no place on it and is left out).
/// Widens [xMin, xMax] to the points drawn.
void addAutoPlanPredictions(QCustomPlot* plot, const AutoPlanFrontier& f, double& xMin, double& xMax) {
    auto* uniform = plot->addGraph(plot->xAxis, plot->yAxis2);
    uniform->setName(QObject::tr("uniform plans: predicted Σ ΔKLD (right axis)"));
    uniform->setLineStyle(QCPGraph::lsNone);
    uniform->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, seriesColor(3), 7));
    auto* pilot = plot->addGraph(plot->xAxis, plot->yAxis2);
    pilot->setName(QObject::tr("autopilot frontier: predicted Σ ΔKLD (right axis)"));
    pilot->setPen(QPen(seriesColor(2), 2));
    pilot->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, seriesColor(2), 5));
    double yMin = 1e300, yMax = 0;
    const auto add = [&](QCPGraph* g, double x, double y) {
        if (!(y > 0)) return;
        g->addData(x, y);
        xMin = std::min(xMin, x), xMax = std::max(xMax, x), yMin = std::min(yMin, y), yMax = std::max(yMax, y);
    };
    for (const auto& u : f.uniform) add(uniform, u.bitsPerWeight, u.predictedCost);
    for (const auto& p : f.autopilot) add(pilot, p.bitsPerWeight, p.predictedCost);
    plot->yAxis2->setVisible(true);
    plot->yAxis2->setLabel(QObject::tr("predicted ΔKLD, nats (Σ single-module costs, %1×%2 calib. windows)").arg(f.windows).arg(f.ctx));
    plot->yAxis2->setScaleType(QCPAxis::stLogarithmic);
    plot->yAxis2->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    if (yMax > 0) plot->yAxis2->setRange(yMin / 2, yMax * 2);
}

}  // namespace

void fillPareto(QCustomPlot* plot, const std::vector<RunPtr>& all, const AutoPlanFrontier* autoPlan) {
    const RunPtr baseline = perplexityReference(all);
    clearPlotContent(plot);
    plot->yAxis2->setVisible(false);
    const auto runs = withPerplexity(all);
    const bool predictions = autoPlan && (!autoPlan->autopilot.empty() || !autoPlan->uniform.empty());
    if (runs.empty() && !predictions) {
        setPlotMessage(plot, QObject::tr("No run evaluated yet."));
        plot->replot();
        return;
    }
    setPlotMessage(plot, runs.empty() ? QObject::tr("No run evaluated yet: only the autopilot's predictions.") : QString());
    setPlotTitle(plot, predictions ? QObject::tr("Pareto: size vs perplexity (runs, measured) · autopilot (predicted)")
                                   : QObject::tr("Pareto: size vs perplexity"));
    auto* points = plot->addGraph();
    points->setName(predictions ? QObject::tr("runs: measured perplexity (left axis)") : QObject::tr("runs"));
    points->setLineStyle(QCPGraph::lsNone);
    points->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, seriesColor(0), 9));
    double xMin = 1e9, xMax = 0, yMin = 1e9, yMax = 0;
    for (const auto& r : runs) {
        const double x = r->bitsPerWeight, y = r->perplexity->perplexity;
        points->addData(x, y);
        xMin = std::min(xMin, x), xMax = std::max(xMax, x), yMin = std::min(yMin, y), yMax = std::max(yMax, y);
    }
    // One label per spot: runs closer than 8 % of the log-x span and 8 % of the y span share it.
    // Labels alternate above/below along x, and the right-most ones extend to the left.
    const double xSpan = std::max(1e-9, std::log2(std::max(xMax, 1e-9)) - std::log2(std::max(xMin, 1e-9)));
    const double ySpan = std::max(1e-9, yMax - yMin);
    struct Spot {
        double x, y;
        QString text, readout;
    };
    std::vector<Spot> spots;
    for (const auto& r : runs) {
        const double x = r->bitsPerWeight, y = r->perplexity->perplexity;
        const QString readout = QObject::tr("%1: %2 bits/weight, perplexity %3").arg(toQString(r->name)).arg(x, 0, 'f', 2).arg(y, 0, 'f', 4);
        auto near = std::find_if(spots.begin(), spots.end(), [&](const Spot& spot) {
            return std::abs(std::log2(std::max(x, 1e-9)) - std::log2(std::max(spot.x, 1e-9))) < 0.08 * xSpan &&
                   std::abs(y - spot.y) < 0.08 * ySpan;
        });
        if (near != spots.end()) {
            near->text += QStringLiteral(" ") + paretoLabel(*r);
            near->readout += QLatin1Char('\n') + readout;
        } else {
            spots.push_back({x, y, paretoLabel(*r), readout});
        }
    }
    std::sort(spots.begin(), spots.end(), [](const Spot& a, const Spot& b) { return a.x < b.x; });
    for (std::size_t k = 0; k < spots.size(); ++k) {
        auto* label = new QCPItemText(plot);
        label->position->setCoords(spots[k].x, spots[k].y);
        const bool right = std::log2(std::max(spots[k].x, 1e-9)) > std::log2(std::max(xMin, 1e-9)) + 0.6 * xSpan;
        const bool below = k % 2 == 1;
        label->setPositionAlignment((right ? Qt::AlignRight : Qt::AlignLeft) | (below ? Qt::AlignTop : Qt::AlignBottom));
        label->setPadding(QMargins(right ? 0 : 6, below ? 4 : 0, right ? 6 : 0, below ? 0 : 4));
        label->setText(spots[k].text);
        label->setColor(plot->palette().color(QPalette::Text));
        label->setProperty("readout", spots[k].readout);
    }
    const auto frontier = paretoFrontier(runs);
    auto* curve = new QCPCurve(plot->xAxis, plot->yAxis);
    curve->setName(QObject::tr("Pareto frontier"));
    curve->setPen(QPen(alarmColor(), 2));
    for (std::size_t k = 0; k < frontier.size(); ++k)
        curve->addData(double(k), runs[frontier[k]]->bitsPerWeight, runs[frontier[k]]->perplexity->perplexity);
    if (baseline) {
        auto* line = new QCPItemStraightLine(plot);
        line->point1->setCoords(0, baseline->perplexity->perplexity);
        line->point2->setCoords(1, baseline->perplexity->perplexity);
        line->setPen(QPen(seriesColor(6), 1.2, Qt::DashLine));
    }
    if (predictions) addAutoPlanPredictions(plot, *autoPlan, xMin, xMax);
    if (runs.empty()) yMin = 1, yMax = 1;  // no perplexity to show: the left axis stays blank
    plot->yAxis->setTickLabels(!runs.empty());
    plot->yAxis->setLabel(runs.empty() ? QString() : QObject::tr("perplexity"));
    const double dy = std::max(yMax * 0.02, (yMax - yMin) * 0.15);
    plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
    auto ticker = QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog);
    ticker->setLogBase(2);
    plot->xAxis->setTicker(ticker);
    plot->xAxis->setRange(std::max(0.5, xMin / 1.25), xMax * 1.6);
    plot->yAxis->setRange(yMin - dy, yMax + dy);
    plot->legend->setVisible(true);
    plot->replot();
}

QCustomPlot* createModuleErrorPlot(const QString& objectName) {
    auto* plot = createPlot(objectName,
                            QObject::tr("Relative output error ‖XWᵀ − Linear(X)‖² / ‖XWᵀ‖² of every quantized module on the\n"
                                        "calibration inputs (log axis). Modules that stand out are candidates for more bits."),
                            [](QCustomPlot* p, const QPointF& pos) -> QString {
                                if (!p->axisRect()->rect().contains(pos.toPoint())) return {};
                                const double key = p->xAxis->pixelToCoord(pos.x());
                                QStringList lines;
                                for (int i = 0; i < p->plottableCount(); ++i) {
                                    auto* bars = qobject_cast<QCPBars*>(p->plottable(i));
                                    if (!bars) continue;
                                    auto it = bars->data()->findBegin(key - bars->width(), false);
                                    for (; it != bars->data()->constEnd() && it->key <= key + bars->width(); ++it) {
                                        if (std::abs(it->key - key) <= 0.5) {
                                            lines << QStringLiteral("%1: %2").arg(bars->name(), compactNumber(it->value));
                                            break;
                                        }
                                    }
                                }
                                if (lines.isEmpty()) return {};
                                const int i = int(std::lround(key));
                                return p->property("moduleNames").toStringList().value(i) + QLatin1Char('\n') + lines.join(QLatin1Char('\n'));
                            });
    plot->yAxis->setLabel(QObject::tr("relative output error (log scale)"));
    plot->xAxis->setLabel(QObject::tr("module (layer.kind)"));
    plot->xAxis->setTickLabelRotation(90);
    setPlotTitle(plot, QObject::tr("Per-module relative output error"));
    // The legend goes below the axis rect so it never hides a bar.
    plot->axisRect()->insetLayout()->take(plot->legend);
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, plot->legend);
    plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
    plot->legend->setFillOrder(QCPLegend::foColumnsFirst);
    return plot;
}

void fillModuleErrors(QCustomPlot* plot, const std::vector<RunPtr>& runs) {
    clearPlotContent(plot);
    std::vector<RunPtr> withModules;
    for (const auto& r : runs)
        if (r && !r->modules.empty()) withModules.push_back(r);
    if (withModules.empty()) {
        setPlotMessage(plot, QObject::tr("Select a quantized run to see its per-module error."));
        plot->yAxis->setScaleType(QCPAxis::stLinear);
        plot->replot();
        return;
    }
    setPlotMessage(plot, {});
    plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    const auto& first = withModules.front()->modules;
    QVector<double> ticks;
    QVector<QString> labels;
    QStringList names;
    for (std::size_t i = 0; i < first.size(); ++i) {
        ticks << double(i);
        const QString name = toQString(first[i].name);
        names << name;
        const QString layer = name.section(QLatin1Char('.'), 2, 2), kind = name.section(QLatin1Char('.'), -1).section(QLatin1Char('_'), 0, 0);
        labels << layer + QLatin1Char('.') + kind;
    }
    plot->setProperty("moduleNames", names);
    auto* group = withModules.size() > 1 ? new QCPBarsGroup(plot) : nullptr;
    double lo = 1e300, hi = 0;
    for (std::size_t r = 0; r < withModules.size(); ++r) {
        auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
        bars->setName(shortRunLabel(*withModules[r]) + QStringLiteral(": ") + toQString(withModules[r]->name).section(QStringLiteral(" · "), 1));
        bars->setWidth(group ? 0.8 / double(withModules.size()) : 0.7);
        bars->setPen(Qt::NoPen);
        bars->setBrush(seriesColor(int(r)));
        bars->setBaseValue(1e-12);
        if (group) bars->setBarsGroup(group);
        for (std::size_t i = 0; i < withModules[r]->modules.size() && i < first.size(); ++i) {
            const double e = withModules[r]->modules[i].relativeError;
            if (e > 0 && std::isfinite(e)) {
                bars->addData(double(i), e);
                lo = std::min(lo, e), hi = std::max(hi, e);
            }
        }
    }
    if (hi <= 0) lo = 1e-6, hi = 1;
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* b = qobject_cast<QCPBars*>(plot->plottable(i))) b->setBaseValue(lo / 3);
    plot->xAxis->setTicker(textTicker(ticks, labels));
    plot->xAxis->setRange(-0.6, double(first.size()) - 0.4);
    plot->yAxis->setRange(lo / 3, hi * 3);
    plot->legend->setVisible(true);
    plot->replot();
}

}  // namespace qb::ui

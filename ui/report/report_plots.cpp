#include "ui/report/report_plots.h"

#include <QBuffer>
#include <QRegularExpression>
#include <QSvgGenerator>

#include <algorithm>
#include <map>

#include <qcustomplot.h>

#include "core/report/report.h"
#include "ui/models/session_runs.h"
#include "ui/plots/latency_plots.h"
#include "ui/models/model_stats.h"
#include "ui/plots/outlier_plots.h"
#include "ui/plots/overview_plot.h"
#include "ui/plots/results_plots.h"
#include "ui/plots/training_loss_plot.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

const std::string kOutlierPrefix = "outlier_channels:";
const std::string kTrainingLossPrefix = "training_loss:";

/// The FP16 reference of the latency plots: the workbench's FP16 baseline when measured, else
/// one made of the FP16 figures a CLI bench run measured beside its model (same run, same
/// workload), so the bars show their speed against FP16 as in the Results view.
std::vector<RunPtr> withFp16Reference(const std::vector<RunPtr>& runs, const core::SessionData& session,
                                      const std::vector<std::string>& ids) {
    for (const auto& r : runs)
        if (r->kind == RunKind::Fp16Baseline && r->decodeMsPerToken) return runs;
    for (const auto& stored : session.runs) {
        if (std::find(ids.begin(), ids.end(), stored.id) == ids.end()) continue;
        const auto d = stored.metrics.find("fp16_decode_ms_per_token");
        const auto p = stored.metrics.find("fp16_prefill_tokens_per_second");
        if (d == stored.metrics.end() || p == stored.metrics.end()) continue;
        auto fp16 = std::make_shared<RunRecord>();
        fp16->kind = RunKind::Fp16Baseline;
        fp16->precision = "FP16";
        fp16->decodeMsPerToken = d->second;
        fp16->prefillTokensPerSecond = p->second;
        fp16->name = runTitle(*fp16);
        std::vector<RunPtr> out{fp16};
        out.insert(out.end(), runs.begin(), runs.end());
        return out;
    }
    return runs;
}

}  // namespace

struct ReportPlots::Impl {
    const core::SessionData& session;
    std::vector<std::string> ids;
    std::vector<RunPtr> runs;
    std::map<std::string, std::unique_ptr<QCustomPlot>> plots;
    std::shared_ptr<const ModelStats> overviewStats;  // what the overview plot shows
};

ReportPlots::ReportPlots(const core::SessionData& session, const std::vector<std::string>& runIds)
    : m(new Impl{session, runIds, {}, {}, {}}) {
    const auto all = runsFromSession(session, core::reportModuleNames(session), "F32");
    for (std::size_t i = 0; i < session.runs.size() && i < all.size(); ++i)
        if (std::find(runIds.begin(), runIds.end(), session.runs[i].id) != runIds.end()) m->runs.push_back(all[i]);
}

ReportPlots::~ReportPlots() = default;

QCustomPlot* ReportPlots::plot(const std::string& id) {
    if (const auto it = m->plots.find(id); it != m->plots.end()) return it->second.get();
    QCustomPlot* p = nullptr;
    if (id == "perplexity") {
        p = createPerplexityPlot();
        fillPerplexity(p, m->runs);
    } else if (id == "pareto") {
        p = createParetoPlot();
        fillPareto(p, m->runs);
    } else if (id == "module_errors") {
        std::vector<RunPtr> withModules;
        for (const auto& r : m->runs)
            if (!r->modules.empty()) withModules.push_back(r);
        p = createModuleErrorPlot(QStringLiteral("reportModuleErrors"));
        fillModuleErrors(p, withModules);
    } else if (id == "latency" || id == "prefill") {
        const auto runs = withFp16Reference(m->runs, m->session, m->ids);
        p = id == "latency" ? createLatencyPlot() : createPrefillPlot();
        (id == "latency" ? fillLatency : fillPrefill)(p, runs);
    } else if (id == "overview") {
        // The Overview view's heatmap, coloured by the activation outlier ratio.
        auto stats = std::make_shared<ModelStats>();
        stats->modules = m->session.modules;
        stats->reindex();
        int layers = 0;
        for (const auto& module : stats->modules) {
            const QStringList parts = toQString(module.name).split(QLatin1Char('.'));
            if (parts.size() > 2 && parts[1] == QLatin1String("layers")) layers = std::max(layers, parts[2].toInt() + 1);
        }
        m->overviewStats = stats;
        p = createOverviewPlot(QString(), {}, {});
        fillOverview(p, stats.get(), layers, ModuleStatistic::OutlierRatio);
    } else if (id.rfind(kTrainingLossPrefix, 0) == 0) {
        const std::string runId = id.substr(kTrainingLossPrefix.size());
        for (const auto& run : m->session.runs)
            if (run.id == runId && !run.trainingLoss.empty()) {
                std::vector<LossCurve> curves;
                for (const auto& [layer, history] : run.trainingLoss) {
                    LossCurve c{QStringLiteral("layer %1").arg(layer), {}};
                    for (std::size_t e = 0; e < history.size(); ++e) c.points.push_back(QPointF(double(e + 1), history[e]));
                    curves.push_back(std::move(c));
                }
                const auto number = run.metrics.find("run_number");
                const QString label = number != run.metrics.end() ? QStringLiteral("run %1").arg(int(number->second)) : toQString(run.id);
                p = createTrainingLossPlot(QString());
                fillTrainingLoss(p, curves, QObject::tr("OmniQuant training loss · %1").arg(label));
            }
    } else if (id.rfind(kOutlierPrefix, 0) == 0) {
        const std::string name = id.substr(kOutlierPrefix.size());
        for (const auto& module : m->session.modules)
            if (module.name == name) {
                p = createActivationAbsmaxPlot();
                fillActivationAbsmax(p, module.activation.get(), toQString(name));
            }
    }
    if (!p) return nullptr;
    m->plots[id].reset(p);
    return p;
}

int ReportPlots::preferredHeight(const std::string& id, int width) const {
    const int base = width * 9 / 20;
    if (id == "latency" || id == "prefill") return std::max(base / 2, 60 + 28 * int(m->runs.size() + 1));
    if (id == "overview") {
        int layers = 0;
        for (const auto& module : m->session.modules) layers += module.name.find(".q_proj") != std::string::npos;
        return std::clamp(80 + 26 * layers, base / 2, width * 5 / 4);
    }
    return base;
}

bool ReportPlots::paint(const std::string& id, QCPPainter* painter, QSize size) {
    QCustomPlot* p = plot(id);
    if (!p) return false;
    p->resize(size);
    p->toPainter(painter, size.width(), size.height());
    return true;
}

QByteArray ReportPlots::inlineSvg(const std::string& id, QSize size) {
    QCustomPlot* p = plot(id);
    if (!p) return {};
    p->resize(size);
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    QSvgGenerator svg;
    svg.setOutputDevice(&buffer);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(toQString(id));
    QCPPainter painter;
    if (!painter.begin(&svg)) return {};
    p->toPainter(&painter, size.width(), size.height());
    painter.end();
    // Inline SVG in HTML needs neither the XML prolog and DOCTYPE nor the namespace URLs (the
    // HTML parser puts <svg> in the SVG namespace): the report holds no http(s) reference.
    QString text = QString::fromUtf8(buffer.data());
    text.remove(QRegularExpression(QStringLiteral("<\\?xml[^>]*>")));
    text.remove(QRegularExpression(QStringLiteral("<!DOCTYPE[^>]*>")));
    text.remove(QRegularExpression(QStringLiteral("\\s+xmlns(:\\w+)?=\"[^\"]*\"")));
    text.remove(QRegularExpression(QStringLiteral("\\s+baseProfile=\"[^\"]*\"")));
    text.replace(QRegularExpression(QStringLiteral("<svg\\s+width=\"[^\"]*\"\\s+height=\"[^\"]*\"")), QStringLiteral("<svg"));
    return text.trimmed().toUtf8();
}

}  // namespace qb::ui

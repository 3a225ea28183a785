#include "ui/views/overview_view.h"

#include <cmath>
#include <limits>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "qcustomplot.h"
#include "ui/models/workspace.h"
#include "ui/plots/plot_support.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

const char* kCurrentFrame = "qb-current-frame";
constexpr int kKinds = int(core::kAllModuleKinds.size());

QCPColorMap* mapOf(QCustomPlot* plot) {
    for (int i = 0; i < plot->plottableCount(); ++i)
        if (auto* m = qobject_cast<QCPColorMap*>(plot->plottable(i))) return m;
    return nullptr;
}

}  // namespace

std::optional<double> OverviewView::valueOf(const core::ModuleStats& m, Statistic statistic) { return statisticValue(m, statistic); }

OverviewView::OverviewView(Workspace* workspace, QWidget* parent)
    : QWidget(parent), m_workspace(workspace), m_statistic(new QComboBox(this)), m_help(new QLabel(this)) {
    setObjectName(QStringLiteral("OverviewView"));
    m_statistic->setObjectName(QStringLiteral("overviewStatistic"));
    for (const auto& s : moduleStatistics()) m_statistic->addItem(statisticName(s.statistic), int(s.statistic));
    m_statistic->setCurrentIndex(m_statistic->findData(int(m_workspace->statistic())));
    m_statistic->setToolTip(tr("The statistic that colours each cell (the Model tree's statistic column shows the same one)"));
    m_help->setWordWrap(true);
    m_plot = createPlot(
        QStringLiteral("overviewHeatmap"), tr("Each cell is one linear module; click a cell to inspect that module."),
        [this](QCustomPlot* p, const QPointF& pos) -> QString {
            QCPColorMap* map = mapOf(p);
            if (!map || !p->axisRect()->rect().contains(pos.toPoint())) return {};
            const int kind = int(std::lround(p->xAxis->pixelToCoord(pos.x())));
            const int layer = int(std::lround(p->yAxis->pixelToCoord(pos.y())));
            if (kind < 0 || kind >= kKinds || layer < 0 || layer >= map->data()->valueSize()) return {};
            const double v = map->data()->cell(kind, layer);
            return tr("%1\n%2 = %3").arg(toQString(core::moduleName(layer, core::kAllModuleKinds[std::size_t(kind)])),
                                         m_statistic->currentText(), std::isnan(v) ? tr("not measured") : compactNumber(v));
        },
        [this] { refresh(); });
    m_plot->setInteractions(QCP::Interactions());  // a fixed grid: clicks select, no pan/zoom
    m_plot->xAxis->setLabel(tr("module kind"));
    m_plot->yAxis->setLabel(tr("decoder layer (index)"));
    m_plot->yAxis->setRangeReversed(true);
    auto* scale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, scale);
    scale->setGradient(heatGradient());
    auto* group = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    setPlotTitle(m_plot, tr("Overview"));
    applyPalette(m_plot);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Colour by:"), this));
    top->addWidget(m_statistic);
    top->addWidget(m_help, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(top);
    layout->addWidget(m_plot, 1);

    connect(m_statistic, &QComboBox::currentIndexChanged, this,
            [this] { m_workspace->setStatistic(Statistic(m_statistic->currentData().toInt())); });
    connect(m_workspace, &Workspace::statisticChanged, this, [this](Statistic statistic) {
        const QSignalBlocker block(m_statistic);
        m_statistic->setCurrentIndex(m_statistic->findData(int(statistic)));
        refresh();
    });
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        if (event->button() != Qt::LeftButton) return;
        selectAt(m_plot->xAxis->pixelToCoord(event->position().x()), m_plot->yAxis->pixelToCoord(event->position().y()));
    });
    connect(m_workspace, &Workspace::statsChanged, this, &OverviewView::refresh);
    connect(m_workspace, &Workspace::modelChanged, this, &OverviewView::refresh);
    connect(m_workspace, &Workspace::currentModuleChanged, this, [this] {
        markCurrent();
        m_plot->replot();
    });
    refresh();
}

OverviewView::Statistic OverviewView::statistic() const { return m_workspace->statistic(); }

void OverviewView::setStatistic(Statistic statistic) { m_workspace->setStatistic(statistic); }

void OverviewView::selectAt(double kindCoord, double layerCoord) {
    if (!m_workspace->hasModel()) return;
    const int kind = int(std::lround(kindCoord));
    const int layer = int(std::lround(layerCoord));
    if (kind < 0 || kind >= kKinds || layer < 0 || layer >= m_workspace->model()->model->config().numLayers) return;
    m_workspace->setCurrentModule(toQString(core::moduleName(layer, core::kAllModuleKinds[std::size_t(kind)])));
}

void OverviewView::refresh() {
    const ModuleStatisticInfo& info = statisticInfo(m_workspace->statistic());
    m_help->setText(QCoreApplication::translate("ModuleStatistic", info.help));
    m_plot->clearPlottables();
    m_plot->clearItems();
    setPlotMessage(m_plot, {});
    QCPColorScale* scale = qobject_cast<QCPColorScale*>(m_plot->plotLayout()->element(1, 1));
    const auto& stats = m_workspace->stats();
    const int layers = m_workspace->hasModel() ? m_workspace->model()->model->config().numLayers : 0;
    setPlotTitle(m_plot, tr("Overview — %1 by layer and module").arg(m_statistic->currentText()));
    auto ticker = QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText);
    for (int k = 0; k < kKinds; ++k) ticker->addTick(k, toQString(shortKindName(core::kAllModuleKinds[std::size_t(k)])));
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setRange(-0.5, kKinds - 0.5);
    m_plot->yAxis->setRange(-0.5, std::max(layers, 1) - 0.5);
    if (!stats || layers == 0) {
        setPlotMessage(m_plot, layers == 0 ? tr("Open a model to see its overview.") : tr("Run Inspect (F6) to compute the statistics."));
        m_plot->replot();
        return;
    }
    auto* map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    map->data()->setSize(kKinds, layers);
    map->data()->setRange(QCPRange(0, kKinds - 1), QCPRange(0, layers - 1));
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    const bool labels = layers <= 40;
    std::vector<std::pair<QCPItemText*, double>> texts;
    for (int l = 0; l < layers; ++l)
        for (int k = 0; k < kKinds; ++k) {
            const auto* m = stats->find(core::moduleName(l, core::kAllModuleKinds[std::size_t(k)]));
            const auto v = m ? valueOf(*m, info.statistic) : std::nullopt;
            const bool usable = v && std::isfinite(*v) && (!info.logScale || *v > 0);
            map->data()->setCell(k, l, usable ? *v : std::numeric_limits<double>::quiet_NaN());
            if (usable) {
                lo = std::min(lo, *v);
                hi = std::max(hi, *v);
            }
            if (labels) {
                auto* text = new QCPItemText(m_plot);
                text->position->setCoords(k, l);
                text->setText(v ? compactNumber(*v) : tr("n/a"));
                texts.emplace_back(text, usable ? *v : std::numeric_limits<double>::quiet_NaN());
                QFont f = m_plot->font();
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
        text->setColor(std::isnan(v) ? m_plot->palette().color(QPalette::Text) : (t > 0.6 ? Qt::black : Qt::white));
    }
    map->setInterpolate(false);
    map->setGradient(heatGradient());
    map->setColorScale(scale);
    scale->setDataScaleType(info.logScale ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    scale->axis()->setTicker(info.logScale ? QSharedPointer<QCPAxisTicker>(new QCPAxisTickerLog)
                                           : QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    scale->axis()->setLabel(m_statistic->currentText());
    map->setDataRange(QCPRange(lo, hi));
    applyPalette(m_plot);
    const QColor text = m_plot->palette().color(QPalette::Text);
    scale->axis()->setTickLabelColor(text);
    scale->axis()->setLabelColor(text);
    markCurrent();
    m_plot->replot();
}

void OverviewView::markCurrent() {
    for (int i = m_plot->itemCount() - 1; i >= 0; --i)
        if (m_plot->item(i)->objectName() == QLatin1String(kCurrentFrame)) m_plot->removeItem(i);
    if (!m_workspace->hasModel()) return;
    const int index = m_workspace->model()->indexOf(toStdString(m_workspace->currentModule()));
    if (index < 0) return;
    const auto& info = m_workspace->model()->modules[std::size_t(index)];
    auto* frame = new QCPItemRect(m_plot);
    frame->setObjectName(QLatin1String(kCurrentFrame));
    const double k = double(int(info.kind));
    frame->topLeft->setCoords(k - 0.48, info.layer - 0.48);
    frame->bottomRight->setCoords(k + 0.48, info.layer + 0.48);
    frame->setPen(QPen(alarmColor(), 3));
}

}  // namespace qb::ui

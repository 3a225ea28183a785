#include "ui/views/overview_view.h"

#include <cmath>
#include <limits>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "qcustomplot.h"
#include "ui/models/workspace.h"
#include "ui/plots/overview_plot.h"
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
    m_plot = createOverviewPlot(
        tr("Each cell is one linear module; click a cell to inspect that module."),
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
    const int layers = m_workspace->hasModel() ? m_workspace->model()->model->config().numLayers : 0;
    fillOverview(m_plot, m_workspace->stats().get(), layers, m_workspace->statistic());
    if (m_workspace->stats() && layers > 0) {
        markCurrent();
        m_plot->replot();
    }
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

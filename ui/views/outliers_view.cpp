#include "ui/views/outliers_view.h"

#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QScrollBar>
#include <QTableWidget>
#include <QVBoxLayout>

#include "qcustomplot.h"
#include "ui/models/workspace.h"
#include "ui/plots/outlier_plots.h"
#include "ui/plots/plot_support.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

OutliersView::OutliersView(Workspace* workspace, QWidget* parent)
    : QWidget(parent), m_workspace(workspace), m_summary(new QLabel(this)), m_histogram(createWeightHistogramPlot()),
      m_absmax(createActivationAbsmaxPlot()), m_rowAbsmax(createRowAbsmaxPlot()), m_heatmap(createActivationHeatmapPlot()),
      m_outliers(new QTableWidget(0, 4, this)) {
    setObjectName(QStringLiteral("OutliersView"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_outliers->setObjectName(QStringLiteral("outlierTable"));
    m_outliers->setHorizontalHeaderLabels({tr("Channel"), tr("max |x|"), tr("× median"), tr("Rule")});
    m_outliers->horizontalHeaderItem(2)->setToolTip(tr("The channel's max |x| divided by the median channel max |x|"));
    m_outliers->horizontalHeaderItem(3)->setToolTip(
        tr("llm_int8: some |x| ≥ 6.0 (LLM.int8() keeps such columns in floating point)\n"
           "relative: max |x| ≥ factor × median channel max (20× by default)\nboth: both rules"));
    m_outliers->verticalHeader()->hide();
    m_outliers->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_outliers->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_outliers->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto* plots = new QWidget(this);
    auto* grid = new QGridLayout(plots);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(6);
    grid->addWidget(m_histogram, 0, 0);
    grid->addWidget(m_absmax, 0, 1);
    grid->addWidget(m_rowAbsmax, 1, 0);
    grid->addWidget(m_heatmap, 1, 1);
    auto* side = new QWidget(this);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(0, 0, 0, 0);
    auto* sideTitle = new QLabel(tr("<b>Outlier input channels</b>"), side);
    sideTitle->setToolTip(tr("Input channels flagged by the LLM.int8() rule (|x| ≥ 6.0) or the relative rule"));
    sideLayout->addWidget(sideTitle);
    sideLayout->addWidget(m_outliers);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(plots);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 5);
    splitter->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_summary);
    layout->addWidget(splitter, 1);

    connect(m_workspace, &Workspace::currentModuleChanged, this, &OutliersView::refresh);
    connect(m_workspace, &Workspace::statsChanged, this, &OutliersView::refresh);
    connect(m_workspace, &Workspace::modelChanged, this, &OutliersView::refresh);
    refresh();
}

void OutliersView::refresh() {
    const QString module = m_workspace->currentModule();
    const auto& stats = m_workspace->stats();
    const core::ModuleStats* s = stats && !module.isEmpty() ? stats->find(toStdString(module)) : nullptr;
    const core::WeightStats* w = s ? &s->weight : nullptr;
    const core::ActivationStats* a = s && s->activation ? &*s->activation : nullptr;
    const QString label = module.isEmpty() ? tr("(no module selected)") : module;
    fillWeightHistogram(m_histogram, w, label);
    fillActivationAbsmax(m_absmax, a, label);
    fillRowAbsmax(m_rowAbsmax, w, label);
    fillActivationHeatmap(m_heatmap, a, label);
    fillOutlierTable();
    // Wide enough for every column: the splitter gives the side panel no less.
    m_outliers->setMinimumWidth(m_outliers->horizontalHeader()->length() + 2 * m_outliers->frameWidth() +
                                m_outliers->verticalScrollBar()->sizeHint().width());
    if (module.isEmpty()) {
        m_summary->setText(m_workspace->hasModel() ? tr("Select a module in the Model dock or click a cell of the Overview.")
                                                   : QString());
    } else if (!s) {
        m_summary->setText(tr("<b>%1</b> — no statistics yet: run Inspect (F6).").arg(module));
    } else {
        QString text = tr("<b>%1</b> &nbsp; W [%2, %3]: σ = %4, excess kurtosis %5, max |w| %6, beyond 3σ %7 %, beyond 6σ %8 %")
                           .arg(module)
                           .arg(s->outFeatures)
                           .arg(s->inFeatures)
                           .arg(compactNumber(w->std), compactNumber(w->excessKurtosis), compactNumber(w->absmax),
                                compactNumber(w->fracBeyond3Sigma * 100), compactNumber(w->fracBeyond6Sigma * 100));
        if (a)
            text += tr("<br>Input activations over %1 tokens: median channel max |x| %2, largest %3 (%4× median), "
                       "%5 outlier channel(s)")
                        .arg(a->tokens)
                        .arg(compactNumber(a->medianAbsmax), compactNumber(a->absmax.maxCoeff()),
                             compactNumber(core::outlierRatio(*a)))
                        .arg(a->outliers.size());
        else
            text += tr("<br>Input activations: not yet — Inspect (F6) runs the calibration text through the model.");
        text += tr("<br>Worst statistic: %1").arg(toQString(core::worstStatistic(*s).text));
        m_summary->setText(text);
    }
}

void OutliersView::fillOutlierTable() {
    m_outliers->setRowCount(0);
    const auto& stats = m_workspace->stats();
    const core::ModuleStats* s = stats ? stats->find(toStdString(m_workspace->currentModule())) : nullptr;
    if (!s || !s->activation) return;
    const auto& a = *s->activation;
    m_outliers->setRowCount(int(a.outliers.size()));
    for (int r = 0; r < int(a.outliers.size()); ++r) {
        const auto& o = a.outliers[std::size_t(r)];
        const double ratio = a.medianAbsmax > 0 ? o.absmax / a.medianAbsmax : 0.0;
        const QStringList cells = {QString::number(o.index), compactNumber(o.absmax), compactNumber(ratio),
                                   toQString(core::outlierRuleName(o.rule))};
        for (int c = 0; c < cells.size(); ++c) m_outliers->setItem(r, c, new QTableWidgetItem(cells[c]));
        m_outliers->item(r, 3)->setToolTip(tr("%1 % of tokens have |x| ≥ %2").arg(compactNumber(o.int8Fraction * 100))
                                               .arg(a.options.llmInt8Threshold));
    }
}

}  // namespace qb::ui

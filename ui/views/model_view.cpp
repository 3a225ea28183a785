#include "ui/views/model_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTreeView>
#include <QVBoxLayout>

#include "ui/models/model_tree_model.h"
#include "ui/models/workspace.h"

namespace qb::ui {

ModelView::ModelView(Workspace* workspace, QWidget* parent)
    : QWidget(parent), m_workspace(workspace), m_model(new ModelTreeModel(workspace, this)),
      m_proxy(new QSortFilterProxyModel(this)), m_filter(new QLineEdit(this)), m_statistic(new QComboBox(this)), m_tree(new QTreeView(this)) {
    setObjectName(QStringLiteral("ModelView"));
    m_proxy->setSourceModel(m_model);
    m_proxy->setRecursiveFilteringEnabled(true);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_filter->setPlaceholderText(tr("Filter modules (e.g. down_proj)"));
    m_filter->setClearButtonEnabled(true);
    m_tree->setModel(m_proxy);
    m_tree->setUniformRowHeights(true);
    m_tree->setAlternatingRowColors(true);
    m_tree->setSelectionMode(QAbstractItemView::SingleSelection);
    m_tree->header()->setSectionResizeMode(QHeaderView::Interactive);
    m_tree->header()->setStretchLastSection(true);
    // Name, statistic and shape fit the default dock width (MainWindow); the rest scrolls.
    m_tree->setColumnWidth(ModelTreeModel::Name, 160);
    m_tree->setColumnWidth(ModelTreeModel::Badge, 220);
    m_tree->setColumnWidth(ModelTreeModel::Shape, m_tree->fontMetrics().horizontalAdvance(tr("Shape [out, in]")) + 16);
    m_tree->setColumnWidth(ModelTreeModel::Parameters, 80);
    m_tree->setTextElideMode(Qt::ElideRight);

    m_statistic->setObjectName(QStringLiteral("treeStatistic"));
    for (const auto& s : moduleStatistics()) m_statistic->addItem(statisticName(s.statistic), int(s.statistic));
    m_statistic->setCurrentIndex(m_statistic->findData(int(m_workspace->statistic())));
    m_statistic->setToolTip(statisticsExplained(m_workspace->statistic()));
    auto* statisticRow = new QHBoxLayout;
    statisticRow->addWidget(new QLabel(tr("Statistic column:"), this));
    statisticRow->addWidget(m_statistic, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_filter);
    layout->addLayout(statisticRow);
    layout->addWidget(m_tree);

    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        if (!text.isEmpty()) m_tree->expandAll();
    });
    connect(m_tree->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& current) { onCurrentChanged(current); });
    connect(m_workspace, &Workspace::modelChanged, this, [this] {
        if (!m_workspace->hasModel()) return;
        m_tree->expand(m_proxy->index(0, 0));
        m_tree->expandToDepth(1);
    });
    connect(m_workspace, &Workspace::currentModuleChanged, this, &ModelView::selectModule);
    connect(m_statistic, &QComboBox::currentIndexChanged, this,
            [this] { m_workspace->setStatistic(ModuleStatistic(m_statistic->currentData().toInt())); });
    connect(m_workspace, &Workspace::statisticChanged, this, [this](ModuleStatistic statistic) {
        const QSignalBlocker block(m_statistic);
        m_statistic->setCurrentIndex(m_statistic->findData(int(statistic)));
        m_statistic->setToolTip(statisticsExplained(statistic));
    });
}

void ModelView::onCurrentChanged(const QModelIndex& current) {
    const QString name = m_proxy->mapToSource(current).data(ModelTreeModel::ModuleNameRole).toString();
    if (!name.isEmpty()) m_workspace->setCurrentModule(name);
}

void ModelView::selectModule(const QString& name) {
    const QModelIndex source = m_model->indexOfModule(name);
    const QModelIndex proxy = m_proxy->mapFromSource(source);
    if (!proxy.isValid() || m_tree->currentIndex() == proxy) return;
    m_tree->setCurrentIndex(proxy);
    m_tree->scrollTo(proxy);
}

}  // namespace qb::ui

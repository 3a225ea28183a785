#include "ui/models/model_tree_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include <algorithm>
#include <optional>

#include "core/stats/module_stats.h"
#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {
constexpr int kModulesPerLayer = int(core::kAllModuleKinds.size());

QColor severityColor(double severity) {
    if (severity >= 1.0) return QColor(220, 60, 50, 110);
    if (severity >= 0.5) return QColor(235, 160, 40, 100);
    return {};
}

QString badgeToolTip() {
    return QObject::tr("The module's worst statistic relative to its review level (severity ≥ 1 is worth a look):\n"
                       "• activation outlier ratio — max channel |x| / median channel |x| (level 20×)\n"
                       "• weight excess kurtosis — heavy tails of the weight distribution (level 10; 0 for a Gaussian)\n"
                       "• rtn w4 g128 error — relative output error of 4-bit round-to-nearest (level 5 %)");
}

QString statisticText(std::optional<double> v) { return v ? QString::number(*v, 'g', 4) : QObject::tr("n/a"); }
}  // namespace

ModelTreeModel::ModelTreeModel(Workspace* workspace, QObject* parent) : QAbstractItemModel(parent), m_workspace(workspace) {
    connect(workspace, &Workspace::modelChanged, this, [this] {
        beginResetModel();
        endResetModel();
    });
    connect(workspace, &Workspace::statsChanged, this, [this] {
        if (!m_workspace->hasModel()) return;
        const int layers = m_workspace->model()->model->config().numLayers;
        const QModelIndex root = index(0, 0);
        emit dataChanged(index(0, Badge), index(0, Badge));
        if (layers > 0) emit dataChanged(index(0, Badge, root), index(layers - 1, Badge, root));
        for (int l = 0; l < layers; ++l) {
            const QModelIndex layer = index(l, 0, root);
            emit dataChanged(index(0, Badge, layer), index(kModulesPerLayer - 1, Badge, layer));
        }
    });
    connect(workspace, &Workspace::statisticChanged, this, [this] {
        emit headerDataChanged(Qt::Horizontal, Badge, Badge);
        // Every statistic cell changes meaning; the tree keeps its shape, so only data changes.
        if (!m_workspace->hasModel()) return;
        const int layers = m_workspace->model()->model->config().numLayers;
        const QModelIndex root = index(0, 0);
        if (layers > 0) emit dataChanged(index(0, Badge, root), index(layers - 1, Badge, root));
        for (int l = 0; l < layers; ++l) {
            const QModelIndex layer = index(l, 0, root);
            emit dataChanged(index(0, Badge, layer), index(kModulesPerLayer - 1, Badge, layer));
        }
    });
}

QModelIndex ModelTreeModel::index(int row, int column, const QModelIndex& parent) const {
    if (!hasIndex(row, column, parent)) return {};
    if (!parent.isValid()) return createIndex(row, column, encode(Node::Model, 0));
    switch (nodeOf(parent)) {
        case Node::Model: return createIndex(row, column, encode(Node::Layer, row));
        case Node::Layer: return createIndex(row, column, encode(Node::Module, numberOf(parent) * kModulesPerLayer + row));
        case Node::Module: break;
    }
    return {};
}

QModelIndex ModelTreeModel::parent(const QModelIndex& child) const {
    if (!child.isValid()) return {};
    switch (nodeOf(child)) {
        case Node::Model: return {};
        case Node::Layer: return createIndex(0, 0, encode(Node::Model, 0));
        case Node::Module: {
            const int layer = numberOf(child) / kModulesPerLayer;
            return createIndex(layer, 0, encode(Node::Layer, layer));
        }
    }
    return {};
}

int ModelTreeModel::rowCount(const QModelIndex& parent) const {
    if (!m_workspace->hasModel()) return 0;
    if (!parent.isValid()) return 1;
    if (parent.column() != 0) return 0;
    switch (nodeOf(parent)) {
        case Node::Model: return m_workspace->model()->model->config().numLayers;
        case Node::Layer: return kModulesPerLayer;
        case Node::Module: return 0;
    }
    return 0;
}

int ModelTreeModel::columnCount(const QModelIndex&) const { return ColumnCount; }

QVariant ModelTreeModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
            case Name: return tr("Module");
            case Shape: return tr("Shape [out, in]");
            case Parameters: return tr("Parameters");
            case DType: return tr("dtype");
            case Badge: {
                if (m_workspace->statistic() == ModuleStatistic::Worst) return tr("Worst statistic");
                QString name = statisticName(m_workspace->statistic());
                return name.left(1).toUpper() + name.mid(1);
            }
        }
    }
    if (role == Qt::ToolTipRole && section == Badge) return statisticsExplained(m_workspace->statistic());
    return {};
}

QVariant ModelTreeModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || !m_workspace->hasModel()) return {};
    switch (nodeOf(index)) {
        case Node::Model: return modelData(index.column(), role);
        case Node::Layer: return layerData(numberOf(index), index.column(), role);
        case Node::Module: return moduleData(numberOf(index), index.column(), role);
    }
    return {};
}

QVariant ModelTreeModel::modelData(int column, int role) const {
    const auto& m = *m_workspace->model();
    const auto& c = m.model->config();
    if (role == Qt::DisplayRole) {
        switch (column) {
            case Name: return toQString(m.label);
            case Shape: return tr("%1 layers, hidden %2").arg(c.numLayers).arg(c.hiddenSize);
            case Parameters: return withThousands(m.model->parameterCount());
            case DType: return toQString(c.torchDtype);
            default: return {};
        }
    }
    if (role == Qt::ToolTipRole && column == Name)
        return tr("%1 — %2, vocabulary %3, %4 heads (%5 KV)")
            .arg(toQString(m.dir.empty() ? m.label : m.dir.string()), toQString(c.architectureName))
            .arg(c.vocabSize)
            .arg(c.numHeads)
            .arg(c.numKvHeads);
    return {};
}

double ModelTreeModel::layerSeverity(int layer) const {
    const auto& stats = m_workspace->stats();
    if (!stats) return -1.0;
    double worst = -1.0;
    for (const auto kind : core::kAllModuleKinds)
        if (const auto* s = stats->find(core::moduleName(layer, kind))) worst = std::max(worst, core::worstStatistic(*s).severity);
    return worst;
}

QVariant ModelTreeModel::layerData(int layer, int column, int role) const {
    const auto& m = *m_workspace->model();
    if (role == Qt::DisplayRole) {
        if (column == Name) return tr("layer %1").arg(layer);
        if (column == Parameters) {
            std::uint64_t n = 0;
            for (int k = 0; k < kModulesPerLayer; ++k) n += m.modules[std::size_t(layer * kModulesPerLayer + k)].parameters();
            return withThousands(n);
        }
        if (column == Badge && m_workspace->statistic() == ModuleStatistic::Worst) {
            const double s = layerSeverity(layer);
            return s < 0 ? QVariant() : QVariant(tr("max severity %1").arg(s, 0, 'f', 2));
        }
        if (column == Badge && m_workspace->stats()) {
            std::optional<double> worst;
            for (const auto kind : core::kAllModuleKinds)
                if (const auto* s = m_workspace->stats()->find(core::moduleName(layer, kind)))
                    if (const auto v = statisticValue(*s, m_workspace->statistic())) worst = std::max(worst.value_or(*v), *v);
            return worst ? QVariant(tr("max %1").arg(statisticText(worst))) : QVariant();
        }
    }
    if (role == Qt::BackgroundRole && column == Badge && m_workspace->statistic() == ModuleStatistic::Worst) {
        const QColor c = severityColor(layerSeverity(layer));
        return c.isValid() ? QVariant(QBrush(c)) : QVariant();
    }
    return {};
}

QVariant ModelTreeModel::moduleData(int module, int column, int role) const {
    const auto& m = *m_workspace->model();
    if (module >= int(m.modules.size())) return {};
    const ModuleInfo& info = m.modules[std::size_t(module)];
    const auto& stats = m_workspace->stats();
    const core::ModuleStats* s = stats ? stats->find(info.name) : nullptr;
    if (role == ModuleNameRole) return toQString(info.name);
    if (role == Qt::DisplayRole) {
        switch (column) {
            case Name: return toQString(core::moduleSuffix(info.kind));
            case Shape: return QStringLiteral("[%1, %2]").arg(info.outFeatures).arg(info.inFeatures);
            case Parameters: return withThousands(info.parameters());
            case DType: return toQString(info.dtype);
            case Badge:
                if (!s) return {};
                if (m_workspace->statistic() == ModuleStatistic::Worst) return toQString(core::worstStatistic(*s).text);
                return statisticText(statisticValue(*s, m_workspace->statistic()));
        }
    }
    if (role == SeverityRole && s) return core::worstStatistic(*s).severity;
    if (role == Qt::BackgroundRole && column == Badge && s && m_workspace->statistic() == ModuleStatistic::Worst) {
        const QColor c = severityColor(core::worstStatistic(*s).severity);
        return c.isValid() ? QVariant(QBrush(c)) : QVariant();
    }
    if (role == Qt::ToolTipRole) {
        if (column == Badge && m_workspace->statistic() != ModuleStatistic::Worst)
            return s ? tr("%1 = %2\n\n%3").arg(statisticName(m_workspace->statistic()), statisticText(statisticValue(*s, m_workspace->statistic())),
                                               statisticsExplained(m_workspace->statistic()))
                     : statisticsExplained(m_workspace->statistic());
        if (column == Badge) return s ? tr("%1\nseverity %2\n\n%3").arg(toQString(core::worstStatistic(*s).text))
                                            .arg(core::worstStatistic(*s).severity, 0, 'f', 2).arg(badgeToolTip())
                                      : badgeToolTip() + tr("\n\nRun Inspect (F6) to compute it.");
        return tr("%1\nformat %2").arg(toQString(info.name), toQString(info.format));
    }
    return {};
}

QModelIndex ModelTreeModel::indexOfModule(const QString& name) const {
    if (!m_workspace->hasModel()) return {};
    const int i = m_workspace->model()->indexOf(toStdString(name));
    if (i < 0) return {};
    const QModelIndex layer = index(i / kModulesPerLayer, 0, index(0, 0));
    return index(i % kModulesPerLayer, 0, layer);
}

}  // namespace qb::ui

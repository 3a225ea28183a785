#pragma once
// ModelTreeModel — the Model dock's tree: model → decoder layers → linear modules, with shape,
// parameters, dtype and the outlier/sensitivity badge (core::worstStatistic of the module,
// present once the workspace holds statistics). Read-only. Thread-affinity: GUI thread.

#include <QAbstractItemModel>

namespace qb::ui {

class Workspace;

class ModelTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { Name, Badge, Shape, Parameters, DType, ColumnCount };
    /// Qt::UserRole on a module row: its full name; on other rows: empty.
    static constexpr int ModuleNameRole = Qt::UserRole + 1;
    /// Qt::UserRole + 2: the badge severity (double, ≥ 1 worth a look) when known.
    static constexpr int SeverityRole = Qt::UserRole + 2;

    explicit ModelTreeModel(Workspace* workspace, QObject* parent = nullptr);

    [[nodiscard]] QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    [[nodiscard]] QModelIndex parent(const QModelIndex& child) const override;
    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    /// The index (column 0) of module name, or an invalid index.
    [[nodiscard]] QModelIndex indexOfModule(const QString& name) const;

private:
    enum class Node { Model, Layer, Module };
    [[nodiscard]] static quintptr encode(Node node, int i) { return (quintptr(node) << 24) | quintptr(i); }
    [[nodiscard]] static Node nodeOf(const QModelIndex& index) { return Node(index.internalId() >> 24); }
    [[nodiscard]] static int numberOf(const QModelIndex& index) { return int(index.internalId() & 0xFFFFFF); }
    [[nodiscard]] QVariant moduleData(int module, int column, int role) const;
    [[nodiscard]] QVariant layerData(int layer, int column, int role) const;
    [[nodiscard]] QVariant modelData(int column, int role) const;
    [[nodiscard]] double layerSeverity(int layer) const;

    Workspace* m_workspace;
};

}  // namespace qb::ui

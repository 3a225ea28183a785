#pragma once
// ModelView — the Model dock: the checkpoint as a tree (model → decoder layers → linear
// modules) with shape, parameters, dtype and a statistic column (the workspace's statistic,
// chosen in the box above the tree or the Overview), and a filter box.
// Selecting a module makes it the workspace's current module, which drives the other views.

#include <QWidget>

class QComboBox;
class QLineEdit;
class QSortFilterProxyModel;
class QTreeView;

namespace qb::ui {

class ModelTreeModel;
class Workspace;

class ModelView : public QWidget {
    Q_OBJECT
public:
    explicit ModelView(Workspace* workspace, QWidget* parent = nullptr);

    [[nodiscard]] QTreeView* tree() const { return m_tree; }
    [[nodiscard]] ModelTreeModel* treeModel() const { return m_model; }
    /// The statistic the tree's column shows: the workspace's, shared with the Overview.
    [[nodiscard]] QComboBox* statisticBox() const { return m_statistic; }

private:
    void selectModule(const QString& name);
    void onCurrentChanged(const QModelIndex& current);

    Workspace* m_workspace;
    ModelTreeModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QLineEdit* m_filter;
    QComboBox* m_statistic;
    QTreeView* m_tree;
};

}  // namespace qb::ui

#pragma once
// ModelView — the Model dock: the checkpoint as a tree (model → decoder layers → linear
// modules) with shape, parameters, dtype and the statistics badge, and a filter box.
// Selecting a module makes it the workspace's current module, which drives the other views.

#include <QWidget>

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

private:
    void selectModule(const QString& name);
    void onCurrentChanged(const QModelIndex& current);

    Workspace* m_workspace;
    ModelTreeModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QLineEdit* m_filter;
    QTreeView* m_tree;
};

}  // namespace qb::ui

#pragma once
// PlanView — the plan editor: one row per linear module (method, bits, group size, sym,
// act-order, estimated bytes) edited in place with delegates; multi-select and "Set selected"
// for bulk edits; presets and "protect the N most sensitive modules"; load/save of the CLI's
// plan JSON; the undo history; live bits per weight and size; "Optimize to …" (OptimizeBar, the
// plan autopilot). Every edit is an undo command of the workspace's PlanDocument.

#include <QVariant>
#include <QWidget>

#include "ui/models/plan_document.h"
#include "ui/models/plan_presets.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableView;

namespace qb::ui {

class OptimizeBar;
class PlanTableModel;
class Workspace;

class PlanView : public QWidget {
    Q_OBJECT
public:
    explicit PlanView(Workspace* workspace, QWidget* parent = nullptr);

    [[nodiscard]] QTableView* table() const { return m_table; }
    [[nodiscard]] PlanTableModel* tableModel() const { return m_model; }
    [[nodiscard]] QLabel* totalsLabel() const { return m_totals; }

    /// Sets field to value on the selected rows (one undo step); returns rows changed.
    int setSelected(PlanField field, const QVariant& value);
    void applyPreset(PlanPreset preset);
    /// Raises the n most sensitive modules (workspace statistics) to 8 bits; returns how many.
    int protectSensitive(int n);
    /// File dialogs; errors shown with the core's words.
    void loadPlanInteractive();
    void savePlanInteractive();

    [[nodiscard]] QComboBox* presetCombo() const { return m_preset; }
    [[nodiscard]] QSpinBox* bulkBits() const { return m_bulkBits; }
    /// The autopilot's bar; MainWindow connects its optimizeRequested to the controller.
    [[nodiscard]] OptimizeBar* optimizeBar() const { return m_optimizeBar; }

signals:
    void errorOccurred(const QString& title, const QString& message);
    /// A line for the status bar (why an edit was refused).
    void statusReported(const QString& message);

private:
    QWidget* buildToolbar();
    QWidget* buildBulkBar();
    void updateTotals();
    /// Shows the preset every row matches, or "custom" when the rows match none.
    void updatePresetState();
    [[nodiscard]] QList<int> selectedRows() const;

    Workspace* m_workspace;
    PlanDocument* m_document;
    PlanTableModel* m_model;
    QTableView* m_table;
    QLabel* m_totals;
    QComboBox* m_preset = nullptr;
    QSpinBox* m_protectCount = nullptr;
    QPushButton* m_protect = nullptr;
    QComboBox* m_bulkMethod = nullptr;
    QSpinBox* m_bulkBits = nullptr;
    QComboBox* m_bulkGroup = nullptr;
    QCheckBox* m_bulkSym = nullptr;
    QCheckBox* m_bulkActOrder = nullptr;
    OptimizeBar* m_optimizeBar = nullptr;
};

}  // namespace qb::ui

#pragma once
// PlanTableModel — the Plan view's table over a PlanDocument: module, shape, method, bits,
// group size, sym, act-order, activation bits ("4 (simulated)" below 8), OmniQuant's epochs and LWC learning rate, estimated bytes, and the module's RTN 4-bit sensitivity when the
// workspace holds statistics. setData() goes through PlanDocument::setField (undoable).
// Fields that do not apply to a row's method show "—" and are not editable. Rows the autopilot
// changed (PlanDocument::markedRows) have autopilotMarkColor() as background until the next edit.

#include <QAbstractTableModel>
#include <QColor>

#include "ui/models/plan_document.h"

namespace qb::ui {

class Workspace;

class PlanTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Module, Shape, Method, Bits, GroupSize, Sym, ActOrder, ActBits, Epochs, LrLwc, Bytes, Sensitivity, ColumnCount };

    /// ActBits column: true when the row's method may be weight-only (the editor offers "none").
    static constexpr int WeightOnlyAllowedRole = Qt::UserRole + 1;

    explicit PlanTableModel(Workspace* workspace, QObject* parent = nullptr);

    [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
    [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    [[nodiscard]] Qt::ItemFlags flags(const QModelIndex& index) const override;
    [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    /// The document field edited in column, if any.
    [[nodiscard]] static std::optional<PlanField> fieldOf(int column);

private:
    Workspace* m_workspace;
    PlanDocument* m_document;
};

/// The background of the rows Optimize changed (a light amber, readable with dark text).
[[nodiscard]] QColor autopilotMarkColor();
/// "per row" or the group size.
[[nodiscard]] QString groupSizeText(int groupSize);

}  // namespace qb::ui

#pragma once
// SetSchemesCommand — the one undo command of the plan document (Tiled's generic change-value
// command): it holds the before/after scheme of each row it touches. Commands with the same
// merge id (a field edit of the same rows) merge, so a spin box dragged through 2…8 is one
// undo step. Merge id −1 never merges (presets, plan loading, bulk sets).

#include <utility>
#include <vector>

#include <QUndoCommand>

#include "core/quant/quant_scheme.h"

namespace qb::ui {

class PlanDocument;

class SetSchemesCommand : public QUndoCommand {
public:
    struct Change {
        int row = 0;
        core::QuantScheme before;
        core::QuantScheme after;
    };
    SetSchemesCommand(PlanDocument* document, const QString& text, std::vector<Change> changes, int mergeId = -1);

    void undo() override;
    void redo() override;
    [[nodiscard]] int id() const override { return m_mergeId; }
    bool mergeWith(const QUndoCommand* other) override;

    /// Merge id of an edit of field (as int) on a single row.
    [[nodiscard]] static int mergeIdFor(int field, int row) { return 1 + field + 16 * row; }

private:
    PlanDocument* m_document;
    std::vector<Change> m_changes;
    int m_mergeId;
};

}  // namespace qb::ui

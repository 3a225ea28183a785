#pragma once
// PlanDocument — the quantization plan being edited: one row per linear module of the decoder
// layers, each with its core::QuantScheme. Every edit goes through the QUndoStack as a
// SetSchemesCommand (plan_commands.h); views never change rows directly.
//
// The document converts to and from the CLI's plan file (core::QuantPlan): the most common
// scheme becomes "default" and every module that differs gets one rule naming it exactly, so
// `quantbench-cli quantize --plan` resolves to the same per-module table.
// Thread-affinity: GUI thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <QList>
#include <QObject>
#include <QVariant>

#include "core/quant/plan.h"
#include "ui/models/loaded_model.h"

class QUndoStack;

namespace qb::ui {

/// The editable fields of a row. Values at the Qt boundary: Method QString (methodName),
/// Bits int, GroupSize int (−1 = one group per output row, as the plan file spells it),
/// Sym bool, ActOrder bool; ActBits int (kMinActBits..kMaxActBits, 0 = weight-only: the plan file's
/// `act_bits`, null); OmniQuant's Epochs int (0..kMaxOmniQuantEpochs) and LrLwc double (> 0).
enum class PlanField { Method, Bits, GroupSize, Sym, ActOrder, ActBits, Epochs, LrLwc };

struct PlanRow {
    std::string name;
    int layer = 0;
    core::ModuleKind kind = core::ModuleKind::Q;
    core::Index outFeatures = 0;
    core::Index inFeatures = 0;
    core::QuantScheme scheme;
};

/// The scheme new documents start from: RTN w4 g128 asymmetric (needs no calibration).
[[nodiscard]] core::QuantScheme defaultPlanScheme();
/// True when the method stores an integer weight grid with bits/group/sym (rtn, gptq, awq).
[[nodiscard]] bool isGridMethod(core::QuantMethod m);
/// Whether field means anything for scheme (act-order only for GPTQ; bits fixed for fp16/w8a8).
[[nodiscard]] bool fieldApplies(const core::QuantScheme& scheme, PlanField field);
/// The value of field as a QVariant (see PlanField).
[[nodiscard]] QVariant fieldValue(const core::QuantScheme& scheme, PlanField field);
/// Sets field from value; false (scheme untouched) when the value is invalid for it.
bool applyField(core::QuantScheme& scheme, PlanField field, const QVariant& value);
/// "bits = 8", "group size = per row", "method = gptq": an edit in the words of the undo history.
[[nodiscard]] QString describeFieldValue(PlanField field, const QVariant& value);
/// True when a and b are the same scheme in every key of the plan file.
[[nodiscard]] bool sameScheme(const core::QuantScheme& a, const core::QuantScheme& b);

class PlanDocument : public QObject {
    Q_OBJECT
public:
    explicit PlanDocument(QObject* parent = nullptr);

    [[nodiscard]] QUndoStack* undoStack() const { return m_undo; }
    [[nodiscard]] int rowCount() const { return int(m_rows.size()); }
    [[nodiscard]] const PlanRow& row(int i) const { return m_rows[std::size_t(i)]; }
    [[nodiscard]] const std::vector<PlanRow>& rows() const { return m_rows; }
    [[nodiscard]] int indexOf(const std::string& name) const;
    [[nodiscard]] std::vector<core::QuantScheme> schemes() const;

    /// New rows for modules, all at defaultPlanScheme(); clears the undo history.
    void resetModules(const std::vector<ModuleInfo>& modules);

    /// Undoable: sets field of one row. Consecutive edits of the same field of the same row merge.
    bool setField(int row, PlanField field, const QVariant& value);
    /// Undoable, one step: sets field on every row of rows (bulk set). Rows where the field does
    /// not apply or the value is invalid are skipped. Returns the number of rows changed.
    int setFieldForRows(const QList<int>& rows, PlanField field, const QVariant& value);
    /// Undoable, one step: replaces every row's scheme (presets, loading a plan file).
    void replaceSchemes(const std::vector<core::QuantScheme>& schemes, const QString& text);
    /// Undoable, one step: replaceSchemes, then marks the rows that changed (what the autopilot
    /// chose differently) until the next change of any row (an edit, an undo or a redo) or a
    /// reset. Returns the rows marked, ascending.
    QList<int> replaceSchemesMarked(const std::vector<core::QuantScheme>& schemes, const QString& text);
    /// The rows marked by replaceSchemesMarked; empty after any later change.
    [[nodiscard]] const QList<int>& markedRows() const { return m_marked; }

    /// The most common scheme of the rows (a tie goes to the one that reached the count first);
    /// defaultPlanScheme() when empty. Cached.
    [[nodiscard]] const core::QuantScheme& commonScheme() const;
    /// The plan file of this table: the most common scheme as default, one exact rule per other module.
    [[nodiscard]] core::QuantPlan toPlan() const;
    /// Undoable: every row gets plan.resolve(name).
    void applyPlan(const core::QuantPlan& plan, const QString& text);
    /// Loads a plan file (core::QuantPlan::fromFile); throws core::Error with the file's problem.
    void loadFile(const std::filesystem::path& file);
    /// Writes the plan file atomically; throws core::Error naming the file.
    void saveFile(const std::filesystem::path& file) const;

    [[nodiscard]] std::uint64_t weights() const;   ///< Σ out·in over the rows
    [[nodiscard]] std::uint64_t bytes() const;     ///< Σ core::schemeBytes over the rows (llm_int8 without its data-dependent FP columns)
    [[nodiscard]] double bitsPerWeight() const;    ///< 8·bytes / weights (0 when empty)

    /// Used by SetSchemesCommand only: sets the schemes without an undo entry.
    void setSchemesDirect(const std::vector<std::pair<int, core::QuantScheme>>& changes);

    /// The modules of rows in the words of the undo history: "mlp.down_proj of layers 0–3",
    /// "self_attn.q_proj of layer 1 and mlp.up_proj of layers 2, 4", "all 35 modules", or
    /// "12 modules in layers 0–4" when more than three kinds are involved.
    [[nodiscard]] QString describeRows(const QList<int>& rows) const;

signals:
    void rowsChanged(int first, int last);
    void modulesReset();
    void totalsChanged();
    void markedRowsChanged();

private:
    void clearMarks();

    std::vector<PlanRow> m_rows;
    QUndoStack* m_undo = nullptr;
    QList<int> m_marked;
    mutable std::optional<core::QuantScheme> m_common;  // cache of commonScheme(), reset on every change
};

}  // namespace qb::ui

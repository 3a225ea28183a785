#pragma once
// UndoHistory — the workbench's one undo history (the plan document's QUndoStack: plan edits and
// run renames) made storable, so a reopened session can still undo. Commands themselves are not
// serialisable; instead the history records the document state after every step (the plan JSON
// and the run names, by run number) as the stack moves, and a session stores those states with
// the entries' texts. Reopening rebuilds the stack from SnapshotCommands that switch between
// consecutive states: the same entries, the same texts, the same position.
// Thread-affinity: GUI thread.

#include <string>
#include <vector>

#include <QObject>
#include <QString>
#include <QUndoCommand>

namespace qb::ui {

class Workspace;

/// What a session stores: texts[i] is entry i's text; states[i] the state after i entries
/// (states.size() == texts.size() + 1); index the stack position (entries done).
struct StoredUndoHistory {
    std::vector<std::string> texts;
    std::vector<std::string> states;
    int index = 0;
};

class UndoHistory : public QObject {
    Q_OBJECT
public:
    /// Follows workspace's undo stack from now on (workspace not owned; outlives this).
    explicit UndoHistory(Workspace* workspace);

    /// The history as a session stores it; empty texts when there is none (or it was not followed).
    [[nodiscard]] StoredUndoHistory stored() const;
    /// Replaces the undo stack by history's entries and moves to its index. The document must be
    /// in history.states[history.index] already (the session's saved state). Returns false (the
    /// stack left empty) when history is inconsistent.
    bool restore(const StoredUndoHistory& history);

    /// The document state as a history records it (plan JSON and run names).
    [[nodiscard]] std::string captureState() const;
    /// Puts the document in state (from captureState) without an undo entry.
    void applyState(const std::string& state);

private:
    void follow(int index);

    Workspace* m_workspace;
    std::vector<std::string> m_states;  ///< state after i entries, for i = 0..count
};

/// One restored history entry: redo applies `after`, undo applies `before`.
class SnapshotCommand : public QUndoCommand {
public:
    SnapshotCommand(UndoHistory* history, std::string before, std::string after, const QString& text);
    void undo() override;
    void redo() override;

private:
    UndoHistory* m_history;
    std::string m_before;
    std::string m_after;
};

}  // namespace qb::ui

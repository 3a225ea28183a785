#pragma once
// RenameRunCommand — the undoable rename of a quantized run (Tiled's change-value command on
// the workspace's run list). It sits on the plan document's undo stack, the workbench's one
// history, so Ctrl+Z undoes a rename like a plan edit. A run that is gone (another model was
// opened) makes undo and redo do nothing.

#include <string>

#include <QUndoCommand>

namespace qb::ui {

class Workspace;

class RenameRunCommand : public QUndoCommand {
public:
    /// Renames run id of workspace (not owned; outlives the command) to customName (empty = none).
    RenameRunCommand(Workspace* workspace, int id, std::string customName);

    void undo() override;
    void redo() override;

private:
    Workspace* m_workspace;
    int m_id;
    std::string m_before;
    std::string m_after;
};

}  // namespace qb::ui

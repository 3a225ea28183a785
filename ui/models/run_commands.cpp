#include "ui/models/run_commands.h"

#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

RenameRunCommand::RenameRunCommand(Workspace* workspace, int id, std::string customName)
    : m_workspace(workspace), m_id(id), m_after(std::move(customName)) {
    const auto run = workspace->findRun(id);
    if (run) m_before = run->customName;
    const QString label = run ? QStringLiteral("run %1").arg(run->number) : QStringLiteral("run");
    setText(m_after.empty() ? QObject::tr("Clear the name of %1").arg(label)
                            : QObject::tr("Rename %1 to “%2”").arg(label, toQString(m_after)));
}

void RenameRunCommand::undo() { m_workspace->setRunName(m_id, m_before); }

void RenameRunCommand::redo() { m_workspace->setRunName(m_id, m_after); }

}  // namespace qb::ui

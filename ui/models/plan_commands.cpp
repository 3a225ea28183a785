#include "ui/models/plan_commands.h"

#include "ui/models/plan_document.h"

namespace qb::ui {

SetSchemesCommand::SetSchemesCommand(PlanDocument* document, const QString& text, std::vector<Change> changes, int mergeId)
    : QUndoCommand(text), m_document(document), m_changes(std::move(changes)), m_mergeId(mergeId) {}

void SetSchemesCommand::undo() {
    std::vector<std::pair<int, core::QuantScheme>> v;
    v.reserve(m_changes.size());
    for (const auto& c : m_changes) v.emplace_back(c.row, c.before);
    m_document->setSchemesDirect(v);
}

void SetSchemesCommand::redo() {
    std::vector<std::pair<int, core::QuantScheme>> v;
    v.reserve(m_changes.size());
    for (const auto& c : m_changes) v.emplace_back(c.row, c.after);
    m_document->setSchemesDirect(v);
}

bool SetSchemesCommand::mergeWith(const QUndoCommand* other) {
    const auto* o = dynamic_cast<const SetSchemesCommand*>(other);
    if (!o || o->m_mergeId != m_mergeId || m_mergeId < 0 || o->m_changes.size() != m_changes.size()) return false;
    for (std::size_t i = 0; i < m_changes.size(); ++i) {
        if (o->m_changes[i].row != m_changes[i].row) return false;
    }
    for (std::size_t i = 0; i < m_changes.size(); ++i) m_changes[i].after = o->m_changes[i].after;
    setText(o->text());
    return true;
}

}  // namespace qb::ui

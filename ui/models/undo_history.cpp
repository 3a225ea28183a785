#include "ui/models/undo_history.h"

#include <QUndoStack>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"

namespace qb::ui {

UndoHistory::UndoHistory(Workspace* workspace) : QObject(workspace), m_workspace(workspace) {
    connect(workspace->plan()->undoStack(), &QUndoStack::indexChanged, this, &UndoHistory::follow);
    follow(workspace->plan()->undoStack()->index());
}

std::string UndoHistory::captureState() const {
    nlohmann::json names = nlohmann::json::object();
    for (const auto& run : m_workspace->runs())
        if (!run->isBaseline()) names[std::to_string(run->number)] = run->customName;
    return nlohmann::json{{"plan", m_workspace->plan()->toPlan().toJsonText()}, {"run_names", names}}.dump();
}

void UndoHistory::applyState(const std::string& state) {
    const auto json = nlohmann::json::parse(state, nullptr, false);
    if (!json.is_object()) return;
    PlanDocument* plan = m_workspace->plan();
    try {
        const auto parsed = core::QuantPlan::fromJsonText(json.value("plan", std::string("{}")), "undo history");
        std::vector<std::pair<int, core::QuantScheme>> changes;
        for (int row = 0; row < plan->rowCount(); ++row) changes.emplace_back(row, parsed.resolve(plan->row(row).name));
        plan->setSchemesDirect(changes);
    } catch (const core::Error&) {
        return;  // an unreadable state leaves the plan as it is
    }
    if (const auto it = json.find("run_names"); it != json.end() && it->is_object())
        for (const auto& run : m_workspace->runs())
            if (const auto name = it->find(std::to_string(run->number)); !run->isBaseline() && name != it->end() && name->is_string())
                m_workspace->setRunName(run->id, name->get<std::string>());
}

void UndoHistory::follow(int index) {
    const QUndoStack* stack = m_workspace->plan()->undoStack();
    if (index < 0) return;
    // A push (or a merge, or clear) leaves no redo entries: the state at index is new. An undo
    // or redo moves onto a state already recorded.
    if (stack->count() == index || std::size_t(index) >= m_states.size()) {
        m_states.resize(std::size_t(index) + 1);
        m_states[std::size_t(index)] = captureState();
    }
}

StoredUndoHistory UndoHistory::stored() const {
    const QUndoStack* stack = m_workspace->plan()->undoStack();
    StoredUndoHistory h;
    if (m_states.size() != std::size_t(stack->count()) + 1) return h;  // not followed from the start
    for (int i = 0; i < stack->count(); ++i) h.texts.push_back(stack->text(i).toStdString());
    h.states = m_states;
    h.index = stack->index();
    return h;
}

bool UndoHistory::restore(const StoredUndoHistory& history) {
    QUndoStack* stack = m_workspace->plan()->undoStack();
    stack->clear();
    if (history.texts.empty() || history.states.size() != history.texts.size() + 1 || history.index < 0 ||
        history.index > int(history.texts.size()))
        return false;
    // Replay from the first state: the stack ends at the last one, then moves back to index.
    applyState(history.states.front());
    m_states.assign(1, history.states.front());
    for (std::size_t i = 0; i < history.texts.size(); ++i)
        stack->push(new SnapshotCommand(this, history.states[i], history.states[i + 1], QString::fromStdString(history.texts[i])));
    stack->setIndex(history.index);
    return true;
}

SnapshotCommand::SnapshotCommand(UndoHistory* history, std::string before, std::string after, const QString& text)
    : QUndoCommand(text), m_history(history), m_before(std::move(before)), m_after(std::move(after)) {}

void SnapshotCommand::undo() { m_history->applyState(m_before); }
void SnapshotCommand::redo() { m_history->applyState(m_after); }

}  // namespace qb::ui

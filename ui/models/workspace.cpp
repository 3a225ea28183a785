#include "ui/models/workspace.h"

#include "ui/models/plan_document.h"

namespace qb::ui {

Workspace::Workspace(QObject* parent) : QObject(parent), m_plan(new PlanDocument(this)) {}

Workspace::~Workspace() = default;

void Workspace::setModel(std::shared_ptr<const LoadedModel> model) {
    m_model = std::move(model);
    m_stats.reset();
    m_runs.clear();
    m_nextRunId = 1;
    m_currentModule.clear();
    m_plan->resetModules(m_model ? m_model->modules : std::vector<ModuleInfo>{});
    setSessionFile({});
    emit modelChanged();
    emit statsChanged();
    emit runsChanged();
    emit currentModuleChanged(m_currentModule);
}

void Workspace::clear() { setModel(nullptr); }

void Workspace::setStats(std::shared_ptr<const ModelStats> stats) {
    m_stats = std::move(stats);
    emit statsChanged();
}

RunPtr Workspace::addRun(RunRecord run) {
    if (run.id == 0) run.id = m_nextRunId;
    m_nextRunId = std::max(m_nextRunId, run.id + 1);
    auto stored = std::make_shared<const RunRecord>(std::move(run));
    m_runs.push_back(stored);
    emit runsChanged();
    return stored;
}

void Workspace::setRuns(std::vector<RunPtr> runs) {
    m_runs = std::move(runs);
    m_nextRunId = 1;
    for (const auto& r : m_runs) m_nextRunId = std::max(m_nextRunId, r->id + 1);
    emit runsChanged();
}

RunPtr Workspace::replaceRun(RunRecord run) {
    for (auto& r : m_runs)
        if (r->id == run.id) {
            r = std::make_shared<const RunRecord>(std::move(run));
            emit runsChanged();
            return r;
        }
    return nullptr;
}

void Workspace::setBaselines(std::vector<RunRecord> baselines) {
    std::vector<RunPtr> runs;
    for (auto& b : baselines) {
        if (b.id == 0) b.id = m_nextRunId++;
        m_nextRunId = std::max(m_nextRunId, b.id + 1);
        runs.push_back(std::make_shared<const RunRecord>(std::move(b)));
    }
    for (const auto& r : m_runs)
        if (!r->isBaseline()) runs.push_back(r);
    m_runs = std::move(runs);
    emit runsChanged();
}

RunPtr Workspace::baselineRun() const {
    const auto r = runOfKind(RunKind::Baseline);
    return r && r->perplexity ? r : nullptr;
}

RunPtr Workspace::fp16BaselineRun() const { return runOfKind(RunKind::Fp16Baseline); }

RunPtr Workspace::runOfKind(RunKind kind) const {
    for (const auto& r : m_runs)
        if (r->kind == kind) return r;
    return nullptr;
}

RunPtr Workspace::findRun(int id) const {
    for (const auto& r : m_runs)
        if (r->id == id) return r;
    return nullptr;
}

void Workspace::setCurrentModule(const QString& name) {
    if (name == m_currentModule) return;
    m_currentModule = name;
    emit currentModuleChanged(name);
}

void Workspace::setSessionFile(const QString& file) {
    if (file == m_sessionFile) return;
    m_sessionFile = file;
    emit sessionFileChanged(file);
}

}  // namespace qb::ui

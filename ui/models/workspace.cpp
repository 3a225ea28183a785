#include "ui/models/workspace.h"

#include <algorithm>

#include <QUndoStack>

#include "ui/models/undo_history.h"

#include "ui/models/plan_document.h"

namespace qb::ui {

Workspace::Workspace(QObject* parent) : QObject(parent), m_plan(new PlanDocument(this)) {
    m_undoHistory = new UndoHistory(this);
    connect(m_plan->undoStack(), &QUndoStack::cleanChanged, this, &Workspace::emitModifiedIfChanged);
}

Workspace::~Workspace() {
    // First: the undo stack's destructor clears it, and the history must not read a workspace
    // whose members are already gone.
    delete m_undoHistory;
}

void Workspace::setModel(std::shared_ptr<const LoadedModel> model) {
    m_model = std::move(model);
    m_stats.reset();
    m_runs.clear();
    m_autoPlanFrontier.reset();
    m_planCosts.clear();
    m_nextRunId = 1;
    m_currentModule.clear();
    m_plan->resetModules(m_model ? m_model->modules : std::vector<ModuleInfo>{});
    m_contentModified = false;
    setSessionFile({});
    emit modelChanged();
    emit statsChanged();
    emit runsChanged();
    emit autoPlanFrontierChanged();
    emit currentModuleChanged(m_currentModule);
    emitModifiedIfChanged();
}

void Workspace::setAutoPlanFrontier(std::shared_ptr<const AutoPlanFrontier> frontier) {
    m_autoPlanFrontier = std::move(frontier);
    emit autoPlanFrontierChanged();
}

void Workspace::setPlanCosts(std::vector<core::PlanCostSweep> sweeps) { m_planCosts = std::move(sweeps); }

void Workspace::mergePlanCosts(core::PlanCostSweep sweep) {
    const auto same = std::find_if(m_planCosts.begin(), m_planCosts.end(),
                                   [&](const core::PlanCostSweep& s) { return s.fingerprint == sweep.fingerprint; });
    const std::size_t known = same != m_planCosts.end() ? same->modules.size() : 0;
    const std::size_t now = sweep.modules.size();
    if (same != m_planCosts.end()) *same = std::move(sweep);
    else m_planCosts.push_back(std::move(sweep));
    if (now > known) setContentModified();
}

void Workspace::clear() { setModel(nullptr); }

void Workspace::setStats(std::shared_ptr<const ModelStats> stats) {
    m_stats = std::move(stats);
    emit statsChanged();
    setContentModified();
}

void Workspace::setWeightStats(std::shared_ptr<const ModelStats> stats) {
    m_stats = std::move(stats);
    emit statsChanged();
}

RunPtr Workspace::store(RunRecord run) {
    if (run.id == 0) run.id = m_nextRunId;
    m_nextRunId = std::max(m_nextRunId, run.id + 1);
    if (!run.isBaseline() && run.number == 0) {
        int largest = 0;
        for (const auto& r : m_runs) largest = std::max(largest, r->number);
        run.number = largest + 1;
    }
    run.name = runTitle(run);
    return std::make_shared<const RunRecord>(std::move(run));
}

RunPtr Workspace::addRun(RunRecord run) {
    auto stored = store(std::move(run));
    m_runs.push_back(stored);
    emit runsChanged();
    setContentModified();
    return stored;
}

void Workspace::setRuns(std::vector<RunPtr> runs) {
    m_runs.clear();
    m_nextRunId = 1;
    for (const auto& r : runs)
        if (r->id != 0) m_nextRunId = std::max(m_nextRunId, r->id + 1);
    for (const auto& r : runs) m_runs.push_back(store(*r));
    emit runsChanged();
}

RunPtr Workspace::replaceRun(RunRecord run) {
    for (auto& r : m_runs)
        if (r->id == run.id) {
            run.name = runTitle(run);
            r = std::make_shared<const RunRecord>(std::move(run));
            emit runsChanged();
            setContentModified();
            return r;
        }
    return nullptr;
}

bool Workspace::setRunName(int id, const std::string& customName) {
    const auto run = findRun(id);
    if (!run || run->isBaseline()) return false;
    RunRecord renamed = *run;
    renamed.customName = customName;
    return replaceRun(std::move(renamed)) != nullptr;
}

void Workspace::setBaselines(std::vector<RunRecord> baselines) {
    std::vector<RunPtr> runs;
    for (auto& b : baselines) {
        if (b.id == 0) b.id = m_nextRunId++;
        runs.push_back(store(std::move(b)));
    }
    for (const auto& r : m_runs)
        if (!r->isBaseline()) runs.push_back(r);
    m_runs = std::move(runs);
    emit runsChanged();
    setContentModified();
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

void Workspace::setOpenView(const QString& view) {
    if (view == m_openView) return;
    m_openView = view;
    emit openViewChanged(view);
}

void Workspace::setStatistic(ModuleStatistic statistic) {
    if (statistic == m_statistic) return;
    m_statistic = statistic;
    emit statisticChanged(statistic);
}

void Workspace::setSessionFile(const QString& file) {
    if (file == m_sessionFile) return;
    m_sessionFile = file;
    emit sessionFileChanged(file);
}

bool Workspace::isModified() const { return hasModel() && (m_contentModified || !m_plan->undoStack()->isClean()); }

void Workspace::markSaved() {
    m_contentModified = false;
    m_plan->undoStack()->setClean();
    emitModifiedIfChanged();
}

void Workspace::markRecovered() {
    m_plan->undoStack()->setClean();
    setContentModified();
}

void Workspace::setContentModified() {
    m_contentModified = true;
    emitModifiedIfChanged();
}

void Workspace::emitModifiedIfChanged() {
    const bool modified = isModified();
    if (modified == m_lastModified) return;
    m_lastModified = modified;
    emit modifiedChanged(modified);
}

}  // namespace qb::ui

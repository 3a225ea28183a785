#pragma once
// Workspace — the open document set of the workbench: the loaded model, the statistics of the
// last inspect job, the runs (plan + metrics), the plan being edited and the module the user
// selected. Views observe it; only commands and job results change it. Thread-affinity: GUI.

#include <memory>
#include <vector>

#include <QObject>
#include <QString>

#include "core/plan/module_costs.h"
#include "ui/models/autoplan_frontier.h"
#include "ui/models/loaded_model.h"
#include "ui/models/model_stats.h"
#include "ui/models/module_statistic.h"
#include "ui/models/run_record.h"

namespace qb::ui {

class PlanDocument;
class UndoHistory;

class Workspace : public QObject {
    Q_OBJECT
public:
    explicit Workspace(QObject* parent = nullptr);
    ~Workspace() override;

    [[nodiscard]] const std::shared_ptr<const LoadedModel>& model() const { return m_model; }
    [[nodiscard]] bool hasModel() const { return m_model != nullptr; }
    /// Replaces the model; drops statistics and runs, resets the plan to the new module list.
    void setModel(std::shared_ptr<const LoadedModel> model);
    void clear();

    [[nodiscard]] const std::shared_ptr<const ModelStats>& stats() const { return m_stats; }
    void setStats(std::shared_ptr<const ModelStats> stats);
    /// Sets statistics computed from the model alone (the weight statistics made when a model
    /// opens): they can be recomputed at any time, so they do not make the work modified.
    void setWeightStats(std::shared_ptr<const ModelStats> stats);

    [[nodiscard]] const std::vector<RunPtr>& runs() const { return m_runs; }
    /// Adds a run; its id is assigned here when 0. Returns the stored run.
    RunPtr addRun(RunRecord run);
    /// Replaces every run (a reopened session); ids and numbers of 0 are assigned as by addRun.
    void setRuns(std::vector<RunPtr> runs);
    /// Gives run id the user's name (empty = none: the scheme shows). Returns false when no
    /// quantized run has that id. Undoable edits go through RenameRunCommand (run_commands.h).
    bool setRunName(int id, const std::string& customName);
    /// Replaces the run with run.id by run (a record is immutable: a new measurement makes a
    /// new record). Returns the stored run, or nullptr when no run has that id.
    RunPtr replaceRun(RunRecord run);
    /// Replaces both baseline runs by baselines (ids assigned here), which go first in the list.
    void setBaselines(std::vector<RunRecord> baselines);
    /// The model as loaded, when it has been evaluated (the perplexity reference of old sessions).
    [[nodiscard]] RunPtr baselineRun() const;
    /// The FP16 baseline, evaluated or only benchmarked; nullptr when there is none.
    [[nodiscard]] RunPtr fp16BaselineRun() const;
    /// The run of kind (the first), evaluated or not; nullptr when none.
    [[nodiscard]] RunPtr runOfKind(RunKind kind) const;
    [[nodiscard]] RunPtr findRun(int id) const;

    /// The plan autopilot's predicted frontier and uniform plans from its last Optimize on this
    /// model (nullptr when none): derived data for the Pareto plot, not saved in the session.
    [[nodiscard]] const std::shared_ptr<const AutoPlanFrontier>& autoPlanFrontier() const { return m_autoPlanFrontier; }
    void setAutoPlanFrontier(std::shared_ptr<const AutoPlanFrontier> frontier);

    /// The plan autopilot's measured costs on this model, one sweep per fingerprint (what they
    /// were measured on: core::planCostFingerprint): those of the session opened (`plan --auto
    /// --session` or an earlier Optimize) and of every Optimize since. Saved in the session, so
    /// an Optimize on the same calibration and candidates measures nothing again.
    [[nodiscard]] const std::vector<core::PlanCostSweep>& planCosts() const { return m_planCosts; }
    /// Replaces every sweep (a reopened session); not an edit.
    void setPlanCosts(std::vector<core::PlanCostSweep> sweeps);
    /// Adds sweep, replacing the sweep of the same fingerprint; when it holds a module the
    /// workspace did not have, the work is modified (it is worth saving).
    void mergePlanCosts(core::PlanCostSweep sweep);

    [[nodiscard]] const QString& currentModule() const { return m_currentModule; }
    void setCurrentModule(const QString& name);

    [[nodiscard]] PlanDocument* plan() const { return m_plan; }
    /// The plan's undo stack made storable (sessions keep the history; undo_history.h).
    [[nodiscard]] UndoHistory* undoHistory() const { return m_undoHistory; }

    /// The central tab the user has open, by its view's objectName ("ResultsView"); like the
    /// selected module, where the user was: kept in the session, not an edit.
    [[nodiscard]] const QString& openView() const { return m_openView; }
    void setOpenView(const QString& view);

    /// The statistic the Model tree's column and the Overview show (one choice for both views;
    /// a view preference kept in the session, not an edit: it does not make the work modified).
    [[nodiscard]] ModuleStatistic statistic() const { return m_statistic; }
    void setStatistic(ModuleStatistic statistic);

    /// The session file this workspace was opened from or saved to (empty when none).
    [[nodiscard]] const QString& sessionFile() const { return m_sessionFile; }
    void setSessionFile(const QString& file);

    /// Whether the workspace holds work not saved to its session file: a plan edit (the undo
    /// stack is not at its clean index) or a run, statistics or run name added since the last
    /// save or open. A workspace without a model is never modified.
    [[nodiscard]] bool isModified() const;
    /// The current state is what the session file holds (after a save or an open).
    void markSaved();
    /// The current state came from a recovery copy: modified until saved.
    void markRecovered();

signals:
    void modelChanged();
    void statsChanged();
    void runsChanged();
    void autoPlanFrontierChanged();
    void currentModuleChanged(const QString& name);
    void statisticChanged(ModuleStatistic statistic);
    void openViewChanged(const QString& view);
    void sessionFileChanged(const QString& file);
    void modifiedChanged(bool modified);

private:
    std::shared_ptr<const LoadedModel> m_model;
    std::shared_ptr<const ModelStats> m_stats;
    std::vector<RunPtr> m_runs;
    std::shared_ptr<const AutoPlanFrontier> m_autoPlanFrontier;
    std::vector<core::PlanCostSweep> m_planCosts;
    QString m_currentModule;
    ModuleStatistic m_statistic = ModuleStatistic::Worst;
    QString m_openView;
    QString m_sessionFile;
    PlanDocument* m_plan = nullptr;
    UndoHistory* m_undoHistory = nullptr;
    int m_nextRunId = 1;
    bool m_contentModified = false;  ///< runs or statistics changed since the last save/open
    bool m_lastModified = false;     ///< isModified() as last emitted

    RunPtr store(RunRecord run);
    void setContentModified();
    void emitModifiedIfChanged();
};

}  // namespace qb::ui

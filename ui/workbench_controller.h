#pragma once
// WorkbenchController — the workbench's operations, between the actions MainWindow wires and
// the core calls the jobs make: open a model folder or session, evaluate, inspect, quantize,
// save. It owns the Workspace (documents) and the JobQueue; job results are applied to the
// workspace here, on the GUI thread. Failures reach the user as errorOccurred with the core's
// words; nothing here blocks the GUI thread on core work.

#include <memory>

#include <QObject>
#include <QString>

#include "ui/jobs/autoplan_jobs.h"
#include "ui/jobs/benchmark_jobs.h"
#include "ui/jobs/core_jobs.h"
#include "ui/jobs/interrupted_quantize.h"

namespace qb::ui {

class Job;
class JobQueue;
class RecentFiles;
class Workspace;

/// "gptq w4 g128 + 2 rules": a plan in short (its default scheme and how many rules differ).
[[nodiscard]] std::string planLabel(const core::QuantPlan& plan);

/// "3.50 bits per weight", "0.100 MB": an autopilot target in the words of the undo history.
[[nodiscard]] QString autoPlanTargetText(const core::AutoPlanTarget& target);
/// The one line the log, the status bar and the plan view show after Optimize: bytes and bits per
/// weight against the budget, the predicted cost with the solver's lower bound, the proxy's
/// Spearman ρ, how many of rows modules changed, and what the costs were measured on.
[[nodiscard]] QString autoPlanSummary(const AutoPlanOutcome& outcome, int changedRows, int rows);

class WorkbenchController : public QObject {
    Q_OBJECT
public:
    explicit WorkbenchController(QObject* parent = nullptr);
    ~WorkbenchController() override;

    [[nodiscard]] Workspace* workspace() const { return m_workspace; }
    [[nodiscard]] JobQueue* jobs() const { return m_jobs; }
    [[nodiscard]] RecentFiles* recentFiles() const { return m_recent; }

    [[nodiscard]] EvaluateSettings& evaluateSettings() { return m_evaluate; }
    [[nodiscard]] CalibrationSettings& calibrationSettings() { return m_calibration; }
    [[nodiscard]] BenchmarkSettings& benchmarkSettings() { return m_benchmark; }

    /// The calibration (Inspect, Quantize) and evaluation (Evaluate, Quantize) texts: a text file
    /// or a folder of .txt files; an empty path means the bundled text. The choice is remembered
    /// per model folder (QSettings "modelTexts") and restored when that model opens again; a
    /// remembered path that is gone falls back to the bundled text with a status message.
    void setCalibrationText(const QString& path);
    void setEvaluationText(const QString& path);
    [[nodiscard]] bool calibrationTextIsBundled() const;
    [[nodiscard]] bool evaluationTextIsBundled() const;
    /// "calib.txt (bundled)", "my-texts/" — what the Results bar, jobs and status show.
    [[nodiscard]] QString calibrationTextLabel() const;
    [[nodiscard]] QString evaluationTextLabel() const;

    /// Opens a model folder or a session file (by extension .h5/.qbsession). Returns the job, or
    /// nullptr when path is neither.
    Job* openPath(const QString& path);
    /// Queues a Load job for a checkpoint folder; the workspace switches to it on success.
    Job* openModelFolder(const QString& dir);
    /// The bundled stories260K.
    Job* openDemoModel();
    /// Shows a model built in memory (e.g. LlamaModel::fromParts) as if loaded.
    void showModel(std::shared_ptr<const LoadedModel> model);

    /// Queues an Evaluate job of the loaded model and of its FP16 version; replaces both
    /// baseline runs (a latency already measured for the same model is kept).
    Job* evaluateBaseline();
    /// Queues a Benchmark job: prefill tokens/s and decode ms/token of every run that holds a
    /// model and is not measured yet (the baseline as loaded included), plus the FP16 reference
    /// (added as the FP16 baseline run when there is none). Returns nullptr, with a status
    /// message, when there is nothing to measure.
    Job* benchmarkRuns();
    /// Queues a Quantize job with the plan document's plan; adds a run (quantized + evaluated).
    Job* quantizeWithPlan();
    /// Resumes a Quantize job a crashed or killed workbench left (pendingInterruptedQuantizes):
    /// opens its model folder, then quantizes with its plan and settings from the layers its
    /// state holds; the run is added as quantizeWithPlan's is. Returns the Load job.
    Job* resumeQuantize(const InterruptedQuantize& job);
    /// The run that quantizing the plan document's plan now would repeat: a quantized run with
    /// the same plan JSON and the same calibration protocol (text as chosen, windows, ctx,
    /// seed); nullptr when there is none. MainWindow asks before quantizing it again.
    [[nodiscard]] RunPtr duplicateRun() const;
    /// Queues a Plan job: the autopilot's costs for request's candidates on request.windows ×
    /// request.ctx windows of the calibration text, solved for request.target. On success the
    /// plan document takes the chosen schemes as one undo step that marks the changed rows, the
    /// workspace takes the predicted frontier, and planOptimized gives the summary. nullptr
    /// without a model. A model opened meanwhile drops the result.
    Job* optimizePlan(const AutoPlanRequest& request);
    /// Queues a job computing the weight statistics of the open model (no calibration); applied
    /// when the workspace still has no statistics then (Inspect or a session's win). Submitted
    /// by itself whenever a model folder opens without statistics.
    Job* computeWeightStats();
    /// Queues an Inspect job (weight/activation statistics and sensitivity of every module).
    Job* inspect();

    /// Queues a job writing the workspace to an HDF5 session; on success the workspace is
    /// saved (not modified) and file becomes its session file. nullptr without a model;
    /// errorOccurred when the job fails.
    Job* saveSession(const QString& file);
    /// Writes the workspace to file as a recovery copy (autosave): the session file and the
    /// modified state stay as they are, and the copy records the session file it belongs to.
    Job* saveRecoveryCopy(const QString& file);
    /// Reads a session: loads its model (from the provenance path) then applies its statistics
    /// and runs, so every plot draws without recomputing.
    Job* openSession(const QString& file);
    /// Opens a recovery copy written by saveRecoveryCopy: like openSession, but the workspace
    /// is left modified and takes the session file the copy belongs to (none for new work).
    Job* openRecoveryCopy(const QString& file);

signals:
    /// A user-facing failure: title for the message box, message in the core's words.
    void errorOccurred(const QString& title, const QString& message);
    void statusReported(const QString& message);
    /// A line for the log pane (failures outside jobs; jobs log through JobQueue::logged).
    void logged(const QString& line);
    /// The calibration or evaluation text changed (a choice, or another model opened).
    void textsChanged();
    /// Optimize filled the plan: autoPlanSummary's line.
    void planOptimized(const QString& summary);

private:
    Job* submitLoad(const QString& dir, std::function<void()> afterLoad);
    /// Queues the Quantize job of record (remembered until it ends) on model; adds its run.
    Job* submitQuantize(std::shared_ptr<const LoadedModel> model, const core::QuantPlan& plan, InterruptedQuantize record, bool resume,
                        const QString& title);
    Job* submitSave(const QString& file, bool recoveryCopy);
    Job* submitOpen(const QString& file, bool recoveryCopy);
    /// errorOccurred, plus a log line when the failure did not come from a job (jobs log their own).
    void restoreTextsOfModel();
    void rememberTexts() const;
    void fail(const QString& title, const QString& message, bool fromJob);

    Workspace* m_workspace;
    JobQueue* m_jobs;
    RecentFiles* m_recent;
    EvaluateSettings m_evaluate;
    CalibrationSettings m_calibration;
    BenchmarkSettings m_benchmark;
};

}  // namespace qb::ui

#include "ui/workbench_controller.h"

#include <QFileInfo>

#include "ui/jobs/job_queue.h"
#include "ui/models/plan_document.h"
#include "ui/models/workspace.h"
#include "ui/util/app_paths.h"
#include "ui/util/qt_convert.h"
#include "ui/util/recent_files.h"

namespace qb::ui {

std::string planLabel(const core::QuantPlan& plan) {
    return plan.defaultScheme.label() + (plan.rules.empty() ? "" : " + " + std::to_string(plan.rules.size()) + " rules");
}

WorkbenchController::WorkbenchController(QObject* parent)
    : QObject(parent), m_workspace(new Workspace(this)), m_jobs(new JobQueue(this)), m_recent(new RecentFiles(this)) {
    m_evaluate.textFile = toPath(bundledText(QStringLiteral("eval.txt")));
    m_calibration.textFile = toPath(bundledText(QStringLiteral("calib.txt")));
}

WorkbenchController::~WorkbenchController() {
    m_jobs->cancelAll();
    m_jobs->waitForIdle();
}

void WorkbenchController::fail(const QString& title, const QString& message, bool fromJob) {
    if (!fromJob) emit logged(title + QStringLiteral(": ") + message);
    emit errorOccurred(title, message);
}

Job* WorkbenchController::openPath(const QString& path) {
    if (path.isEmpty()) return nullptr;
    const QFileInfo info(path);
    if (info.isDir()) return openModelFolder(path);
    if (info.isFile() && info.fileName() == QStringLiteral("config.json")) return openModelFolder(info.absolutePath());
    if (info.isFile()) return openSession(path);
    fail(tr("Cannot open"), QStringLiteral("error: %1: no such file or folder").arg(path), false);
    return nullptr;
}

Job* WorkbenchController::submitLoad(const QString& dir, std::function<void()> afterLoad) {
    Job* job = m_jobs->submit(JobKind::Load, QFileInfo(dir).fileName(), loadModelWork(toPath(dir)));
    connect(job, &Job::finished, this, [this, job, dir, afterLoad = std::move(afterLoad)](JobState state) {
        if (state == JobState::Succeeded) {
            m_workspace->setModel(job->result<LoadedModel>());
            m_recent->add(dir);
            emit statusReported(tr("Opened %1").arg(dir));
            if (afterLoad) afterLoad();
        } else if (state == JobState::Failed) {
            fail(tr("Could not open the model"), job->errorMessage(), true);
        }
    });
    return job;
}

Job* WorkbenchController::openModelFolder(const QString& dir) { return submitLoad(dir, {}); }

Job* WorkbenchController::openDemoModel() {
    const QString dir = bundledModelDir();
    if (dir.isEmpty()) {
        fail(tr("Demo model missing"),
                           tr("error: the bundled resources were not found (set QB_RESOURCES_DIR to the resources folder)"), false);
        return nullptr;
    }
    return openModelFolder(dir);
}

void WorkbenchController::showModel(std::shared_ptr<const LoadedModel> model) { m_workspace->setModel(std::move(model)); }

Job* WorkbenchController::evaluateBaseline() {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    Job* job = m_jobs->submit(JobKind::Evaluate, tr("baseline perplexity (as loaded and FP16), ctx %1").arg(m_evaluate.ctx),
                              evaluateBaselineWork(model, m_evaluate));
    connect(job, &Job::finished, this, [this, job, model](JobState state) {
        if (state == JobState::Failed) fail(tr("Evaluation failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model) return;
        const auto result = job->result<BaselineRuns>();
        std::vector<RunRecord> baselines;
        for (RunRecord run : {result->asLoaded, result->fp16}) {
            // The model is the same, so a latency measured before still holds.
            if (const auto old = m_workspace->runOfKind(run.kind); old && old->measured()) {
                run.decodeMsPerToken = old->decodeMsPerToken;
                run.prefillTokensPerSecond = old->prefillTokensPerSecond;
                run.benchPromptTokens = old->benchPromptTokens;
                run.benchGenTokens = old->benchGenTokens;
            }
            baselines.push_back(std::move(run));
        }
        m_workspace->setBaselines(std::move(baselines));
    });
    return job;
}

Job* WorkbenchController::quantizeWithPlan() {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    const auto plan = m_workspace->plan()->toPlan();
    // No run number yet: the workspace gives one when the run is added, so a cancelled or failed
    // job uses none.
    const std::string label = planLabel(plan);
    Job* job = m_jobs->submit(JobKind::Quantize, toQString(label), quantizeWork(model, plan, m_calibration, m_evaluate, label));
    connect(job, &Job::finished, this, [this, job, model](JobState state) {
        if (state == JobState::Failed) fail(tr("Quantization failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model) return;
        m_workspace->addRun(*job->result<RunRecord>());
    });
    return job;
}

}  // namespace qb::ui

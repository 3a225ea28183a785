#include "ui/workbench_controller.h"

#include <QFileInfo>
#include <QSettings>
#include <QUrl>

#include "ui/jobs/job_queue.h"
#include "ui/jobs/text_source.h"
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
    connect(m_workspace, &Workspace::modelChanged, this, &WorkbenchController::restoreTextsOfModel);
}

namespace {

/// The QSettings key of a model folder's texts: "modelTexts/<percent-encoded folder>/<which>".
QString textsKey(const std::filesystem::path& dir, const char* which) {
    return QStringLiteral("modelTexts/%1/%2")
        .arg(QString::fromLatin1(QUrl::toPercentEncoding(toQString(dir.string()))), QLatin1String(which));
}

QString labelOf(const std::filesystem::path& path, bool bundled) {
    const QString name = toQString(textDisplayName(path));
    return bundled ? QObject::tr("%1 (bundled)").arg(name) : name;
}

}  // namespace

void WorkbenchController::setCalibrationText(const QString& path) {
    m_calibration.textFile = toPath(path.isEmpty() ? bundledText(QStringLiteral("calib.txt")) : path);
    rememberTexts();
    emit textsChanged();
}

void WorkbenchController::setEvaluationText(const QString& path) {
    m_evaluate.textFile = toPath(path.isEmpty() ? bundledText(QStringLiteral("eval.txt")) : path);
    rememberTexts();
    emit textsChanged();
}

bool WorkbenchController::calibrationTextIsBundled() const { return m_calibration.textFile == toPath(bundledText(QStringLiteral("calib.txt"))); }
bool WorkbenchController::evaluationTextIsBundled() const { return m_evaluate.textFile == toPath(bundledText(QStringLiteral("eval.txt"))); }
QString WorkbenchController::calibrationTextLabel() const { return labelOf(m_calibration.textFile, calibrationTextIsBundled()); }
QString WorkbenchController::evaluationTextLabel() const { return labelOf(m_evaluate.textFile, evaluationTextIsBundled()); }

void WorkbenchController::rememberTexts() const {
    if (!m_workspace->hasModel() || m_workspace->model()->dir.empty()) return;
    const auto& dir = m_workspace->model()->dir;
    QSettings settings;
    settings.setValue(textsKey(dir, "calibration"), calibrationTextIsBundled() ? QString() : toQString(m_calibration.textFile.string()));
    settings.setValue(textsKey(dir, "evaluation"), evaluationTextIsBundled() ? QString() : toQString(m_evaluate.textFile.string()));
}

void WorkbenchController::restoreTextsOfModel() {
    QString calibration, evaluation;
    if (m_workspace->hasModel() && !m_workspace->model()->dir.empty()) {
        const QSettings settings;
        calibration = settings.value(textsKey(m_workspace->model()->dir, "calibration")).toString();
        evaluation = settings.value(textsKey(m_workspace->model()->dir, "evaluation")).toString();
    }
    for (QString* path : {&calibration, &evaluation})
        if (!path->isEmpty() && !QFileInfo::exists(*path)) {
            emit statusReported(tr("The text %1 chosen for this model is gone: using the bundled text").arg(*path));
            path->clear();
        }
    m_calibration.textFile = toPath(calibration.isEmpty() ? bundledText(QStringLiteral("calib.txt")) : calibration);
    m_evaluate.textFile = toPath(evaluation.isEmpty() ? bundledText(QStringLiteral("eval.txt")) : evaluation);
    emit textsChanged();
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
            if (!m_workspace->stats()) computeWeightStats();  // the weight plots at once; Inspect adds the rest
        } else if (state == JobState::Failed) {
            fail(tr("Could not open the model"), job->errorMessage(), true);
        }
    });
    return job;
}

Job* WorkbenchController::computeWeightStats() {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    Job* job = m_jobs->submit(JobKind::Inspect, tr("weight statistics (no calibration)"), weightStatsWork(model));
    connect(job, &Job::finished, this, [this, job, model](JobState state) {
        if (state == JobState::Failed) fail(tr("Weight statistics failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model || m_workspace->stats()) return;
        m_workspace->setWeightStats(job->result<ModelStats>());
        if (m_workspace->currentModule().isEmpty() && !model->modules.empty())
            m_workspace->setCurrentModule(toQString(model->modules.front().name));
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
    Job* job = m_jobs->submit(JobKind::Evaluate, tr("baseline perplexity (as loaded and FP16) · %1, ctx %2").arg(toQString(textDisplayName(m_evaluate.textFile))).arg(m_evaluate.ctx),
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

RunPtr WorkbenchController::duplicateRun() const {
    if (!m_workspace->hasModel()) return nullptr;
    const std::string planJson = m_workspace->plan()->toPlan().toJsonText();
    for (const auto& run : m_workspace->runs())
        if (!run->isBaseline() && run->planJson == planJson && run->calibrationPath == m_calibration.textFile.string() &&
            run->calibrationWindows == m_calibration.windows && run->calibrationCtx == m_calibration.ctx &&
            run->calibrationSeed == m_calibration.seed)
            return run;
    return nullptr;
}

Job* WorkbenchController::quantizeWithPlan() {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    const auto plan = m_workspace->plan()->toPlan();
    // No run number yet: the workspace gives one when the run is added, so a cancelled or failed
    // job uses none.
    const std::string label = planLabel(plan);
    // "rtn w4 g128 asym · calib.txt (32×512, seed 0) → eval.txt": the texts and the protocol;
    // the log gives each text's SHA-256.
    const QString title = tr("%1 · %2 (%3×%4, seed %5) → %6")
                              .arg(toQString(label), toQString(textDisplayName(m_calibration.textFile)))
                              .arg(m_calibration.windows)
                              .arg(m_calibration.ctx)
                              .arg(m_calibration.seed)
                              .arg(toQString(textDisplayName(m_evaluate.textFile)));
    InterruptedQuantize record = newQuantizeRecord(toQString(model->dir.string()));
    record.planJson = toQString(plan.toJsonText());
    record.scheme = toQString(label);
    record.calibration = m_calibration;
    record.evaluation = m_evaluate;
    record.layers = model->model->config().numLayers;
    return submitQuantize(model, plan, std::move(record), false, title);
}

Job* WorkbenchController::resumeQuantize(const InterruptedQuantize& record) {
    return submitLoad(record.modelDir, [this, record] {
        const auto plan = core::QuantPlan::fromJsonText(record.planJson.toStdString(), "the interrupted job's plan");
        const QString title = tr("%1 · resumed after layer %2 of %3").arg(record.scheme).arg(record.layersDone - 1).arg(record.layers);
        submitQuantize(m_workspace->model(), plan, record, true, title);
    });
}

Job* WorkbenchController::submitQuantize(std::shared_ptr<const LoadedModel> model, const core::QuantPlan& plan, InterruptedQuantize record,
                                         bool resume, const QString& title) {
    // A model built in memory has no folder to reopen: its job keeps no state.
    const bool durable = !model->dir.empty();
    QuantizeStateSettings state;
    if (durable) {
        state = {record.stateFolder.toStdString(), resume};
        rememberQuantize(record);
    }
    Job* job = m_jobs->submit(JobKind::Quantize, title,
                              quantizeWork(model, plan, record.calibration, record.evaluation, record.scheme.toStdString(), state));
    connect(job, &Job::finished, this, [this, job, model, id = record.id, durable](JobState state) {
        if (durable) forgetQuantize(id);  // ended here (done, failed or cancelled): nothing to offer at the next start
        if (state == JobState::Failed) fail(tr("Quantization failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model) return;
        m_workspace->addRun(*job->result<RunRecord>());
    });
    return job;
}

}  // namespace qb::ui

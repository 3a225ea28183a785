// WorkbenchController: inspect and sessions (the parts that call core/stats and core/store).
//
// A session file holds the provenance, the per-module statistics, the plan being edited (plan
// "current") and every run: metrics by name (docs/session-format.md lists them) and the
// per-module relative errors; each run's plan is stored as plan "<run id>". The two baselines
// are runs "baseline" (the model as loaded) and "baseline-fp16". Opening a session loads the
// model folder named in the provenance, then applies the statistics, runs and plan, so every
// view draws without computing. Run models are not stored: a reopened run keeps its latency
// but cannot be benchmarked again.
#include "ui/workbench_controller.h"

#include <QFileInfo>
#include <QUndoStack>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "core/eval/kl_divergence.h"
#include "core/store/session_store.h"
#include "ui/jobs/job_queue.h"
#include "ui/jobs/text_source.h"
#include "ui/models/plan_document.h"
#include "ui/models/session_runs.h"
#include "ui/models/undo_history.h"
#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"
#include "ui/util/recent_files.h"

namespace qb::ui {

namespace {

const std::string kCurrentPlan = "current";
std::string runId(const RunRecord& run) {
    switch (run.kind) {
        case RunKind::Baseline: return "baseline";
        case RunKind::Fp16Baseline: return "baseline-fp16";
        case RunKind::Quantized: break;
    }
    return "run-" + std::to_string(run.number);
}

/// Not a plan: the workbench's own state (run names, selected module), a JSON object stored
/// beside the plans so that older readers ignore it (docs/session-format.md).
const std::string kWorkbenchState = "workbench-state";

/// sessionFile: for a recovery copy, the session the work belongs to (empty otherwise).
std::string workbenchStateJson(const Workspace& workspace, const QString& sessionFile) {
    nlohmann::json state = nlohmann::json::object();
    nlohmann::json names = nlohmann::json::object();
    for (const auto& run : workspace.runs())
        if (!run->customName.empty()) names[runId(*run)] = run->customName;
    state["run_names"] = names;
    nlohmann::json texts = nlohmann::json::object();
    for (const auto& run : workspace.runs()) {
        if (run->evaluationText.empty() && !run->hasCalibration()) continue;
        nlohmann::json t = {{"evaluation_text", run->evaluationText}, {"evaluation_sha256", run->evaluationSha256}};
        if (run->hasCalibration()) {
            t["calibration_text"] = run->calibrationText;
            t["calibration_sha256"] = run->calibrationSha256;
            t["calibration_path"] = run->calibrationPath;
            t["calibration_windows"] = run->calibrationWindows;
            t["calibration_ctx"] = run->calibrationCtx;
            t["calibration_seed"] = run->calibrationSeed;
        }
        texts[runId(*run)] = t;
    }
    state["run_texts"] = texts;
    state["current_module"] = toStdString(workspace.currentModule());
    state["statistic"] = statisticInfo(workspace.statistic()).key;
    if (!workspace.openView().isEmpty()) state["open_view"] = toStdString(workspace.openView());
    if (const StoredUndoHistory history = workspace.undoHistory()->stored(); !history.texts.empty())
        state["undo_history"] = {{"texts", history.texts}, {"states", history.states}, {"index", history.index}};
    if (!sessionFile.isEmpty()) state["session_file"] = toStdString(sessionFile);
    return state.dump();
}

struct WorkbenchState {
    std::map<std::string, std::string> runNames;  ///< run id ("run-3") -> the user's name
    std::map<std::string, nlohmann::json> runTexts;  ///< run id -> its texts and protocol (see workbenchStateJson)
    std::string currentModule;
    std::optional<ModuleStatistic> statistic;
    std::string openView;
    StoredUndoHistory undoHistory;
    std::string sessionFile;  ///< recovery copies: the session the work belongs to
};

WorkbenchState parseWorkbenchState(const std::vector<core::PlanRecord>& plans) {
    WorkbenchState state;
    for (const auto& p : plans) {
        if (p.name != kWorkbenchState) continue;
        const auto json = nlohmann::json::parse(p.json, nullptr, false);
        if (!json.is_object()) continue;  // unreadable: the runs keep their schemes as titles
        if (const auto it = json.find("run_names"); it != json.end() && it->is_object())
            for (const auto& [id, name] : it->items())
                if (name.is_string()) state.runNames[id] = name.get<std::string>();
        if (const auto it = json.find("run_texts"); it != json.end() && it->is_object())
            for (const auto& [id, texts] : it->items())
                if (texts.is_object()) state.runTexts[id] = texts;
        if (const auto it = json.find("current_module"); it != json.end() && it->is_string()) state.currentModule = it->get<std::string>();
        if (const auto it = json.find("statistic"); it != json.end() && it->is_string()) state.statistic = statisticFromKey(it->get<std::string>());
        if (const auto it = json.find("open_view"); it != json.end() && it->is_string()) state.openView = it->get<std::string>();
        if (const auto it = json.find("undo_history"); it != json.end() && it->is_object()) {
            const auto& h = *it;
            if (h.contains("texts") && h["texts"].is_array() && h.contains("states") && h["states"].is_array()) {
                for (const auto& t : h["texts"]) state.undoHistory.texts.push_back(t.is_string() ? t.get<std::string>() : std::string());
                for (const auto& st : h["states"]) state.undoHistory.states.push_back(st.is_string() ? st.get<std::string>() : std::string());
                state.undoHistory.index = h.value("index", 0);
            }
        }
        if (const auto it = json.find("session_file"); it != json.end() && it->is_string()) state.sessionFile = it->get<std::string>();
    }
    return state;
}

core::RunRecord toStored(const RunRecord& run) {
    core::RunRecord r;
    r.id = runId(run);
    r.planName = run.planJson.empty() ? std::string() : r.id;
    r.planJson = run.planJson;
    auto& m = r.metrics;
    m["run_number"] = run.number;
    m["baseline"] = run.isBaseline() ? 1.0 : 0.0;
    if (run.kind == RunKind::Fp16Baseline) m["fp16_baseline"] = 1.0;
    m["bits_per_weight"] = run.bitsPerWeight;
    m["bytes"] = double(run.linearBytes);
    m["quantize_seconds"] = run.quantizeSeconds;
    if (run.perplexity) {
        m["perplexity"] = run.perplexity->perplexity;
        m["loss"] = run.perplexity->meanLoss;
        m["predictions"] = double(run.perplexity->predictions);
        m["windows"] = run.perplexity->windows;
        m["ctx"] = run.perplexity->ctx;
        m["eval_seconds"] = run.perplexity->seconds;
        m["tokens_per_second"] = run.perplexity->tokensPerSecond;
    }
    if (run.decodeMsPerToken) m["decode_ms_per_token"] = *run.decodeMsPerToken;
    if (run.prefillTokensPerSecond) m["prefill_tokens_per_second"] = *run.prefillTokensPerSecond;
    if (run.benchPromptTokens > 0) m["bench_prompt_tokens"] = run.benchPromptTokens;
    if (run.benchGenTokens > 0) m["bench_gen_tokens"] = run.benchGenTokens;
    if (run.kld) m.merge(core::kldMetrics(*run.kld));  // the names quantbench-cli eval --baseline stores
    for (const auto& module : run.modules) r.moduleErrors[module.name] = module.relativeError;
    r.trainingLoss = core::trainingLossByLayer(run.modules);
    r.protocol = run.protocol;
    r.tokenKld = run.tokenKld;
    r.tokenKldTargets = run.tokenKldTargets;
    r.command = run.command;
    r.modelPath = run.modelPath;
    return r;
}

/// A run quantbench-cli appended (docs/session-format.md): its protocol names its texts, and a
/// run without a plan (eval, bench) is titled by its command and model folder.
void applyCliRun(RunRecord& run, const core::RunRecord& r) {
    run.protocol = r.protocol;
    run.command = r.command;
    run.modelPath = r.modelPath;
    if (r.protocol && r.protocol->eval && run.evaluationText.empty()) {
        run.evaluationText = r.protocol->eval->text;
        run.evaluationSha256 = r.protocol->eval->sha256;
    }
    if (r.protocol && r.protocol->calibration && !run.hasCalibration()) {
        const core::CalibrationProtocol& c = *r.protocol->calibration;
        run.calibrationText = c.text;
        run.calibrationSha256 = c.sha256;
        run.calibrationWindows = c.windows;
        run.calibrationCtx = c.ctx;
        run.calibrationSeed = c.seed;
    }
    if (!r.command.empty() && r.planJson.empty())
        run.scheme = r.command + " " + std::filesystem::path(r.modelPath).filename().string();
}

/// Fills run's texts and protocol from the workbench state's entry (absent in older sessions).
void applyTexts(RunRecord& run, const nlohmann::json& t) {
    run.evaluationText = t.value("evaluation_text", std::string());
    run.evaluationSha256 = t.value("evaluation_sha256", std::string());
    run.calibrationText = t.value("calibration_text", std::string());
    run.calibrationSha256 = t.value("calibration_sha256", std::string());
    run.calibrationPath = t.value("calibration_path", std::string());
    run.calibrationWindows = t.value("calibration_windows", 0);
    run.calibrationCtx = t.value("calibration_ctx", 0);
    run.calibrationSeed = t.value("calibration_seed", std::uint64_t(0));
}

RunRecord fromStored(const core::RunRecord& r, const std::vector<std::string>& moduleOrder, const std::string& precision,
                     const WorkbenchState& state) {
    const auto& names = state.runNames;
    const auto get = [&](const char* key) -> std::optional<double> {
        const auto it = r.metrics.find(key);
        return it == r.metrics.end() ? std::nullopt : std::optional<double>(it->second);
    };
    RunRecord run;  // id 0: the workspace gives one
    if (get("baseline").value_or(0) != 0)
        run.kind = get("fp16_baseline").value_or(0) != 0 ? RunKind::Fp16Baseline : RunKind::Baseline;
    run.planJson = r.planJson;
    run.bitsPerWeight = get("bits_per_weight").value_or(0);
    run.linearBytes = std::uint64_t(get("bytes").value_or(0));
    run.quantizeSeconds = get("quantize_seconds").value_or(0);
    if (const auto p = get("perplexity")) {
        core::PerplexityResult e;
        e.perplexity = *p;
        e.meanLoss = get("loss").value_or(0);
        e.predictions = std::int64_t(get("predictions").value_or(0));
        e.windows = int(get("windows").value_or(0));
        e.ctx = int(get("ctx").value_or(0));
        e.seconds = get("eval_seconds").value_or(0);
        e.tokensPerSecond = get("tokens_per_second").value_or(0);
        run.perplexity = e;
    }
    run.decodeMsPerToken = get("decode_ms_per_token");
    run.prefillTokensPerSecond = get("prefill_tokens_per_second");
    run.benchPromptTokens = int(get("bench_prompt_tokens").value_or(0));
    run.benchGenTokens = int(get("bench_gen_tokens").value_or(0));
    for (const auto& name : moduleOrder) {
        const auto it = r.moduleErrors.find(name);
        if (it == r.moduleErrors.end()) continue;
        core::ModuleReport m;
        m.name = name;
        m.relativeError = it->second;
        // The layer's OmniQuant loss history, shared by its modules as a run's reports hold it.
        for (const auto& [layer, history] : r.trainingLoss)
            if (name.rfind("model.layers." + std::to_string(layer) + ".", 0) == 0) m.lwcEpochLoss = history;
        run.modules.push_back(m);
    }
    if (run.isBaseline()) {
        run.precision = run.kind == RunKind::Fp16Baseline ? std::string("FP16") : precision;
    } else {
        // Sessions before numbering was fixed stored the internal id here, which is also the
        // number they showed once reopened; 0 (none) gets the next free number.
        run.number = int(get("run_number").value_or(0));
        run.scheme = "quantized";
        try {
            run.scheme = planLabel(core::QuantPlan::fromJsonText(r.planJson, r.id));
        } catch (const core::Error&) {
        }
        if (const auto it = names.find(r.id); it != names.end()) run.customName = it->second;
    }
    run.kld = core::kldStatisticsFromMetrics(r.metrics);
    run.tokenKld = r.tokenKld;
    run.tokenKldTargets = r.tokenKldTargets;
    if (const auto it = state.runTexts.find(r.id); it != state.runTexts.end()) applyTexts(run, it->second);
    applyCliRun(run, r);
    run.name = runTitle(run);
    return run;
}

}  // namespace

Job* WorkbenchController::inspect() {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    Job* job = m_jobs->submit(JobKind::Inspect, tr("%1 (%2×%3, seed %4)").arg(toQString(textDisplayName(m_calibration.textFile))).arg(m_calibration.windows).arg(m_calibration.ctx).arg(m_calibration.seed),
                              inspectWork(model, m_calibration));
    connect(job, &Job::finished, this, [this, job, model](JobState state) {
        if (state == JobState::Failed) fail(tr("Inspect failed"), job->errorMessage(), true);
        if (state != JobState::Succeeded || m_workspace->model() != model) return;
        m_workspace->setStats(job->result<ModelStats>());
        if (m_workspace->currentModule().isEmpty() && !model->modules.empty())
            m_workspace->setCurrentModule(toQString(model->modules.front().name));
    });
    return job;
}

Job* WorkbenchController::saveSession(const QString& file) { return submitSave(file, false); }

Job* WorkbenchController::saveRecoveryCopy(const QString& file) { return submitSave(file, true); }

Job* WorkbenchController::submitSave(const QString& file, bool recoveryCopy) {
    if (!m_workspace->hasModel()) return nullptr;
    const auto model = m_workspace->model();
    core::SessionData data;
    if (const auto& stats = m_workspace->stats()) {
        data.modules = stats->modules;
        if (stats->provenance) data.provenance = *stats->provenance;
    }
    data.provenance.modelPath = model->dir.string();
    if (data.provenance.quantbenchVersion.empty()) data.provenance.quantbenchVersion = QB_VERSION;
    data.plans.push_back({kCurrentPlan, m_workspace->plan()->toPlan().toJsonText(), {}});
    data.plans.push_back({kWorkbenchState, workbenchStateJson(*m_workspace, recoveryCopy ? m_workspace->sessionFile() : QString()), {}});
    data.planCosts = m_workspace->planCosts();
    for (const auto& run : m_workspace->runs()) {
        data.runs.push_back(toStored(*run));
        if (!run->planJson.empty()) data.plans.push_back({runId(*run), run->planJson, {}});
    }
    auto shared = std::make_shared<const core::SessionData>(std::move(data));
    const auto path = toPath(file);
    Job* job = m_jobs->submit(JobKind::Session, tr("save %1").arg(QFileInfo(file).fileName()),
                              makeJobWork([shared, path](const core::RunContext& ctx) {
                                  ctx.progress(0.0, "writing the session");
                                  core::SessionStore::write(path, *shared);
                                  return std::make_shared<const bool>(true);
                              }));
    connect(job, &Job::finished, this, [this, job, file, recoveryCopy](JobState state) {
        if (recoveryCopy) return;  // a failed autosave is in the log; it must not interrupt the user
        if (state == JobState::Failed) fail(tr("Could not save the session"), job->errorMessage(), true);
        if (state != JobState::Succeeded) return;
        m_workspace->setSessionFile(file);
        m_workspace->markSaved();
        m_recent->add(file);
        emit statusReported(tr("Saved %1").arg(file));
    });
    return job;
}

Job* WorkbenchController::openSession(const QString& file) { return submitOpen(file, false); }

Job* WorkbenchController::openRecoveryCopy(const QString& file) { return submitOpen(file, true); }

Job* WorkbenchController::submitOpen(const QString& file, bool recoveryCopy) {
    const auto path = toPath(file);
    Job* job = m_jobs->submit(JobKind::Session, tr("open %1").arg(QFileInfo(file).fileName()),
                              makeJobWork([path](const core::RunContext& ctx) {
                                  ctx.progress(0.0, "reading the session");
                                  return std::make_shared<const core::SessionData>(core::SessionStore::read(path));
                              }));
    connect(job, &Job::finished, this, [this, job, file, recoveryCopy](JobState state) {
        if (state == JobState::Failed) fail(tr("Could not open the session"), job->errorMessage(), true);
        if (state != JobState::Succeeded) return;
        const auto data = job->result<core::SessionData>();
        const QString modelDir = toQString(data->provenance.modelPath);
        if (modelDir.isEmpty() || !QFileInfo(modelDir).isDir()) {
            fail(tr("Could not open the session"),
                 tr("error: %1: the model folder '%2' it was made from is not there").arg(file, modelDir), false);
            return;
        }
        submitLoad(modelDir, [this, data, file, recoveryCopy] {
            const auto model = m_workspace->model();
            auto stats = std::make_shared<ModelStats>();
            stats->modules = data->modules;
            stats->provenance = data->provenance;
            stats->calibrationWindows = data->provenance.calibrationWindows;
            stats->calibrationCtx = data->provenance.calibrationCtx;
            stats->reindex();
            if (!stats->modules.empty()) m_workspace->setStats(std::move(stats));
            std::vector<std::string> order;
            for (const auto& m : model->modules) order.push_back(m.name);
            const std::string precision = loadedPrecision(*model);
            const WorkbenchState state = parseWorkbenchState(data->plans);
            std::vector<RunPtr> runs;
            for (const auto& r : data->runs)
                runs.push_back(std::make_shared<const RunRecord>(fromStored(r, order, precision, state)));
            m_workspace->setRuns(std::move(runs));
            m_workspace->setPlanCosts(data->planCosts);
            for (const auto& plan : data->plans)
                if (plan.name == kCurrentPlan) {
                    try {
                        m_workspace->plan()->applyPlan(core::QuantPlan::fromJsonText(plan.json, file.toStdString()), tr("Session plan"));
                        m_workspace->plan()->undoStack()->clear();
                    } catch (const core::Error& e) {
                        fail(tr("Session plan"), QStringLiteral("error: ") + QString::fromUtf8(e.what()), false);
                    }
                }
            m_workspace->setSessionFile(recoveryCopy ? toQString(state.sessionFile) : file);
            if (!recoveryCopy) m_recent->add(file);
            const bool known = std::any_of(model->modules.begin(), model->modules.end(),
                                           [&](const ModuleInfo& m) { return m.name == state.currentModule; });
            if (known) m_workspace->setCurrentModule(toQString(state.currentModule));
            else if (m_workspace->stats() && !model->modules.empty())
                m_workspace->setCurrentModule(toQString(model->modules.front().name));
            if (state.statistic) m_workspace->setStatistic(*state.statistic);
            if (!state.openView.empty()) m_workspace->setOpenView(toQString(state.openView));
            if (!state.undoHistory.texts.empty()) m_workspace->undoHistory()->restore(state.undoHistory);
            if (recoveryCopy) m_workspace->markRecovered();
            else m_workspace->markSaved();
        });
    });
    return job;
}

}  // namespace qb::ui

namespace qb::ui {

std::vector<RunPtr> runsFromSession(const core::SessionData& data, const std::vector<std::string>& moduleOrder,
                                    const std::string& precision) {
    const WorkbenchState state = parseWorkbenchState(data.plans);
    std::vector<RunPtr> runs;
    for (const auto& r : data.runs) runs.push_back(std::make_shared<const RunRecord>(fromStored(r, moduleOrder, precision, state)));
    return runs;
}

}  // namespace qb::ui

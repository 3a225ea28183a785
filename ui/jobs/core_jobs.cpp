#include "ui/jobs/core_jobs.h"

#include <cctype>

#include "core/calib/calibration.h"
#include "core/eval/kl_divergence.h"
#include "core/eval/perplexity.h"
#include "core/kernels/model_bench.h"
#include "core/backend/backend.h"
#include "core/quant/pipeline.h"
#include "core/quant/resume_state.h"
#include "core/model/linear.h"
#include "core/stats/inspect.h"
#include "core/stats/weight_stats.h"
#include "core/store/run_protocol.h"
#include "core/store/session_provenance.h"
#include "ui/jobs/text_source.h"

namespace qb::ui {

namespace {

/// The evaluation text read and tokenized once per job, with the windows it is scored on.
struct EvaluationInput {
    TextSource text;
    std::vector<int> stream;
    core::PerplexityOptions options;
    bool bos = false;  ///< the tokenizer puts BOS before each document (the protocol's "per-document")
};

/// Reads and tokenizes the evaluation text.
EvaluationInput readEvaluation(const core::Tokenizer& tokenizer, const EvaluateSettings& settings) {
    return core::withErrorContext(settings.textFile.string(), [&] {
        EvaluationInput in;
        in.text = readTextSource(settings.textFile);
        in.stream = core::encodeDocuments(tokenizer, in.text.text);
        in.options.ctx = settings.ctx;
        in.options.maxWindows = settings.maxWindows;
        in.bos = tokenizer.addsBos() && tokenizer.bos().has_value();  // as quantbench-cli eval decides it
        return in;
    });
}

/// Perplexity of model on the evaluation windows; records the text's name and SHA-256 in run.
core::PerplexityResult evaluate(const core::LlamaModel& model, const EvaluationInput& in, const EvaluateSettings& settings,
                                RunRecord& run, const core::RunContext& ctx) {
    run.evaluationText = in.text.name;
    run.evaluationSha256 = in.text.sha256;
    return core::withErrorContext(settings.textFile.string(),
                                  [&] { return core::evaluatePerplexity(model, in.stream, in.options, ctx); });
}

/// KL(FP16‖model) over the same windows through core's evaluateAgainstBaseline (what
/// `quantbench-cli eval --baseline` runs): the statistics, and per token its KLD and the token
/// it predicted.
void compareWithFp16(RunRecord& run, const std::string& label, const core::LlamaModel& model, const core::LlamaModel& fp16,
                     const EvaluationInput& in, const core::RunContext& ctx) {
    const auto r = core::evaluateAgainstBaseline(model, fp16, in.stream, in.options, ctx);
    run.kld = r.stats;
    run.tokenKld.assign(r.tokenKld.begin(), r.tokenKld.end());
    run.tokenKldTargets.clear();
    run.tokenKldTargets.reserve(r.tokenKld.size());
    for (int w = 0; w < r.windows; ++w)
        for (int t = 1; t < r.ctx; ++t) run.tokenKldTargets.push_back(in.stream[std::size_t(w) * std::size_t(r.ctx) + std::size_t(t)]);
    ctx.log(label + ": KL divergence from FP16 " + std::to_string(r.stats.kldMean) + " nats, top-1 agreement " +
            std::to_string(r.stats.top1AgreementPercent) + " %");
}

/// The protocol quantbench-cli records for the same figures (core/store/run_protocol.h): the
/// evaluation windows, the FP16 baseline of the KLD, the calibration, and this machine.
void stampProtocol(RunRecord& run, const EvaluateSettings& settings, const EvaluationInput& in,
                   std::optional<core::CalibrationProtocol> calibration) {
    core::Protocol p;
    p.eval = core::makeEvalProtocol(settings.textFile, in.text.text, run.perplexity->ctx, run.perplexity->windows, in.bos);
    if (run.kld) p.baselineDtype = "F16";  // core::toFp16Model: every linear and lm_head stored as F16
    p.calibration = std::move(calibration);
    p.environment = core::currentEnvironment();
    run.protocol = std::move(p);
}

/// Reads and samples the calibration text; logs what was read (name, SHA-256, protocol).
core::CalibrationSet sampleCalibrationText(const core::Tokenizer& tokenizer, const CalibrationSettings& settings, TextSource& text,
                                           const core::RunContext& ctx) {
    ctx.progress(0.0, "sampling calibration windows");
    return core::withErrorContext(settings.textFile.string(), [&] {
        text = readTextSource(settings.textFile);
        ctx.log("calibration text " + text.name + ", sha256 " + text.sha256 + ", " + std::to_string(settings.windows) + " windows × " +
                std::to_string(settings.ctx) + " tokens, seed " + std::to_string(settings.seed));
        const auto stream = core::encodeDocuments(tokenizer, text.text);
        auto calib = core::sampleCalibration(stream, {settings.windows, settings.ctx, settings.seed});
        if (calib.shortened) ctx.log(calib.note);
        return calib;
    });
}

/// A baseline run of model: footprint of its linears and its perplexity.
RunRecord evaluateBaseline(const core::LlamaModel& model, const EvaluationInput& in, RunKind kind, std::string precision,
                           const EvaluateSettings& settings, const core::RunContext& ctx) {
    RunRecord run;
    run.kind = kind;
    run.precision = std::move(precision);
    run.name = baselineRunName(run.precision);
    const auto footprint = linearFootprint(model);
    run.linearBytes = footprint.bytes;
    run.bitsPerWeight = footprint.weights ? 8.0 * double(footprint.bytes) / double(footprint.weights) : 0.0;
    run.perplexity = evaluate(model, in, settings, run, ctx);
    ctx.log(run.name + ": perplexity " + std::to_string(run.perplexity->perplexity) + " over " +
            std::to_string(run.perplexity->predictions) + " predictions on " + evaluationProtocol(run));
    return run;
}

}  // namespace

std::string loadedPrecision(const LoadedModel& model) {
    std::string dtype = model.modules.empty() ? std::string("f32") : model.modules.front().dtype;
    for (char& c : dtype) c = char(std::toupper(static_cast<unsigned char>(c)));
    return dtype;
}

LinearFootprint linearFootprint(const core::LlamaModel& model) {
    LinearFootprint f;
    for (int i = 0; i < model.config().numLayers; ++i) {
        const auto layer = model.layer(i);
        for (const auto kind : core::kAllModuleKinds) {
            const auto& l = layer->linear(kind);
            f.bytes += l->storageBytes();
            f.weights += std::uint64_t(l->outFeatures()) * std::uint64_t(l->inFeatures());
        }
    }
    return f;
}

JobWork loadModelWork(std::filesystem::path dir) {
    return makeJobWork([dir = std::move(dir)](const core::RunContext& ctx) { return loadModelFolder(dir, ctx); });
}

JobWork evaluateBaselineWork(std::shared_ptr<const LoadedModel> model, EvaluateSettings settings) {
    return makeJobWork([model = std::move(model), settings = std::move(settings)](const core::RunContext& ctx) {
        BaselineRuns runs;
        const EvaluationInput in = readEvaluation(*model->tokenizer, settings);
        runs.asLoaded = evaluateBaseline(*model->model, in, RunKind::Baseline, loadedPrecision(*model), settings, ctx.sub(0.0, 0.33));
        const auto fp16 = core::toFp16Model(*model->model, ctx.sub(0.33, 0.35));
        runs.fp16 = evaluateBaseline(*fp16, in, RunKind::Fp16Baseline, "FP16", settings, ctx.sub(0.35, 0.67));
        // The model as loaded against FP16 too (the FP16 run is the reference: no KLD of its own).
        compareWithFp16(runs.asLoaded, runs.asLoaded.name, *model->model, *fp16, in, ctx.sub(0.67, 1.0));
        stampProtocol(runs.asLoaded, settings, in, std::nullopt);
        stampProtocol(runs.fp16, settings, in, std::nullopt);
        return runs;
    });
}

JobWork quantizeWork(std::shared_ptr<const LoadedModel> model, core::QuantPlan plan, CalibrationSettings calibration,
                     EvaluateSettings evaluation, std::string scheme, QuantizeStateSettings state) {
    return makeJobWork([model = std::move(model), plan = std::move(plan), calibration = std::move(calibration),
                        evaluation = std::move(evaluation), scheme = std::move(scheme), state = std::move(state)](const core::RunContext& ctx) {
        TextSource text;
        const auto calib = sampleCalibrationText(*model->tokenizer, calibration, text, ctx);
        core::QuantizeOptions options;
        std::unique_ptr<core::QuantizeResumeState> journal;
        if (!state.folder.empty() && !model->dir.empty()) {
            const auto fingerprint = core::quantizeFingerprint(model->dir, plan, text.text, calib, calibration.seed, options,
                                                               core::BackendRegistry::instance().preferred()->name());
            journal = state.resume ? core::QuantizeResumeState::resume(state.folder, fingerprint, ctx)
                                   : core::QuantizeResumeState::startFresh(state.folder, fingerprint, ctx);
            options.journal = journal.get();
        }
        const auto result = core::quantizeModel(*model->model, plan, calib, ctx.sub(0.0, 0.8), options);
        if (journal) journal->remove();
        RunRecord run;
        run.scheme = scheme;
        run.planJson = plan.toJsonText();
        run.bitsPerWeight = result.bitsPerWeight;
        run.linearBytes = result.linearBytes;
        run.quantizeSeconds = result.seconds;
        run.modules = result.modules;
        run.notes = result.notes;
        run.calibrationText = text.name;
        run.calibrationSha256 = text.sha256;
        run.calibrationPath = calibration.textFile.string();
        run.calibrationWindows = calib.windows;
        run.calibrationCtx = calib.ctx;
        run.calibrationSeed = calibration.seed;
        for (const auto& note : result.notes) ctx.log(note);
        ctx.progress(0.8, "evaluating the quantized model");
        const EvaluationInput in = readEvaluation(*model->tokenizer, evaluation);
        run.perplexity = evaluate(*result.model, in, evaluation, run, ctx.sub(0.8, 0.88));
        run.model = result.model;
        ctx.log("perplexity " + std::to_string(run.perplexity->perplexity) + " at " + std::to_string(run.bitsPerWeight) +
                " bits per weight on " + evaluationProtocol(run));
        // The FP16 reference is rebuilt here and dropped after the comparison, like the baseline job's.
        const auto fp16 = core::toFp16Model(*model->model, ctx.sub(0.88, 0.9));
        compareWithFp16(run, scheme, *result.model, *fp16, in, ctx.sub(0.9, 1.0));
        stampProtocol(run, evaluation, in,
                      core::makeCalibrationProtocol(calibration.textFile, text.text, calib.windows, calib.ctx, calibration.seed));
        return run;
    });
}

JobWork weightStatsWork(std::shared_ptr<const LoadedModel> model) {
    return makeJobWork([model = std::move(model)](const core::RunContext& ctx) {
        auto stats = std::make_shared<ModelStats>();
        const core::LlamaModel& m = *model->model;
        const int layers = m.config().numLayers;
        for (int i = 0; i < layers; ++i) {
            ctx.throwIfStopped();
            const auto layer = m.layer(i);
            for (const auto kind : core::kAllModuleKinds) {
                const core::Linear& linear = *layer->linear(kind);
                // W [out, in]: the layer's own float weights when it holds them, else a dense copy (as inspect does).
                const auto* dense = dynamic_cast<const core::DenseLinear*>(&linear);
                const core::MatrixRM copy = dense ? core::MatrixRM() : linear.denseWeight();
                const core::MatrixRM& W = dense ? dense->weight() : copy;
                core::ModuleStats module;
                module.name = core::moduleName(i, kind);
                module.outFeatures = linear.outFeatures();
                module.inFeatures = linear.inFeatures();
                module.weight = core::computeWeightStats(W);
                stats->modules.push_back(std::move(module));
            }
            ctx.progress(double(i + 1) / layers, "weight statistics: layer " + std::to_string(i));
        }
        stats->reindex();
        ctx.log("weight statistics of " + std::to_string(stats->modules.size()) + " modules (Inspect adds the activation statistics)");
        return std::shared_ptr<const ModelStats>(std::move(stats));
    });
}

JobWork inspectWork(std::shared_ptr<const LoadedModel> model, CalibrationSettings calibration) {
    return makeJobWork([model = std::move(model), calibration = std::move(calibration)](const core::RunContext& ctx) {
        TextSource source;
        const auto calib = sampleCalibrationText(*model->tokenizer, calibration, source, ctx);
        const std::string& text = source.text;
        auto result = core::inspectModel(*model->model, calib, {}, ctx);
        auto stats = std::make_shared<ModelStats>();
        stats->modules = std::move(result.modules);
        stats->calibrationWindows = result.windows;
        stats->calibrationCtx = result.ctx;
        if (model->checkpoint)
            stats->provenance = core::makeSessionProvenance(*model->checkpoint, text, calib, calibration.seed);
        stats->reindex();
        ctx.log("inspected " + std::to_string(stats->modules.size()) + " modules on " + std::to_string(result.windows) +
                " windows of " + std::to_string(result.ctx) + " tokens");
        return std::shared_ptr<const ModelStats>(std::move(stats));
    });
}

}  // namespace qb::ui

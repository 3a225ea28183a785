#include "ui/jobs/core_jobs.h"

#include <cctype>

#include "core/calib/calibration.h"
#include "core/eval/perplexity.h"
#include "core/kernels/model_bench.h"
#include "core/quant/pipeline.h"
#include "core/model/linear.h"
#include "core/stats/inspect.h"
#include "core/stats/weight_stats.h"
#include "core/store/session_provenance.h"
#include "ui/jobs/text_source.h"

namespace qb::ui {

namespace {

/// Perplexity of model on the evaluation text; records the text's name and SHA-256 in run.
core::PerplexityResult evaluate(const core::LlamaModel& model, const core::Tokenizer& tokenizer, const EvaluateSettings& settings,
                                RunRecord& run, const core::RunContext& ctx) {
    return core::withErrorContext(settings.textFile.string(), [&] {
        const TextSource text = readTextSource(settings.textFile);
        run.evaluationText = text.name;
        run.evaluationSha256 = text.sha256;
        const auto stream = core::encodeDocuments(tokenizer, text.text);
        core::PerplexityOptions options;
        options.ctx = settings.ctx;
        options.maxWindows = settings.maxWindows;
        return core::evaluatePerplexity(model, stream, options, ctx);
    });
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
RunRecord evaluateBaseline(const core::LlamaModel& model, const core::Tokenizer& tokenizer, RunKind kind, std::string precision,
                           const EvaluateSettings& settings, const core::RunContext& ctx) {
    RunRecord run;
    run.kind = kind;
    run.precision = std::move(precision);
    run.name = baselineRunName(run.precision);
    const auto footprint = linearFootprint(model);
    run.linearBytes = footprint.bytes;
    run.bitsPerWeight = footprint.weights ? 8.0 * double(footprint.bytes) / double(footprint.weights) : 0.0;
    run.perplexity = evaluate(model, tokenizer, settings, run, ctx);
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
        runs.asLoaded = evaluateBaseline(*model->model, *model->tokenizer, RunKind::Baseline, loadedPrecision(*model), settings,
                                         ctx.sub(0.0, 0.5));
        const auto fp16 = core::toFp16Model(*model->model, ctx.sub(0.5, 0.52));
        runs.fp16 = evaluateBaseline(*fp16, *model->tokenizer, RunKind::Fp16Baseline, "FP16", settings, ctx.sub(0.52, 1.0));
        return runs;
    });
}

JobWork quantizeWork(std::shared_ptr<const LoadedModel> model, core::QuantPlan plan, CalibrationSettings calibration,
                     EvaluateSettings evaluation, std::string scheme) {
    return makeJobWork([model = std::move(model), plan = std::move(plan), calibration = std::move(calibration),
                        evaluation = std::move(evaluation), scheme = std::move(scheme)](const core::RunContext& ctx) {
        TextSource text;
        const auto calib = sampleCalibrationText(*model->tokenizer, calibration, text, ctx);
        const auto result = core::quantizeModel(*model->model, plan, calib, ctx.sub(0.0, 0.8));
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
        run.perplexity = evaluate(*result.model, *model->tokenizer, evaluation, run, ctx.sub(0.8, 1.0));
        run.model = result.model;
        ctx.log("perplexity " + std::to_string(run.perplexity->perplexity) + " at " + std::to_string(run.bitsPerWeight) +
                " bits per weight on " + evaluationProtocol(run));
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

#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/kl_divergence.h"
#include "core/eval/logits_file.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/store/session_provenance.h"
#include "core/util/sha256.h"
#include "core/model/llama_model.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/text/tokenizer.h"

namespace qb::cli {

namespace {

/// What the evaluation's figures were measured on: the text and windows, BOS handling, the
/// baseline's dtype (KLD runs) and this machine.
core::Protocol evalProtocol(const EvalArgs& args, const std::string& text, int ctx, int windows, bool bos,
                            std::optional<std::string> baselineDtype) {
    core::Protocol p;
    p.eval = core::makeEvalProtocol(args.text, text, ctx, windows, bos);
    p.baselineDtype = std::move(baselineDtype);
    p.environment = core::currentEnvironment();
    return p;
}

/// The run eval appends to --session: figures under the workbench's metric names, the KLD
/// statistics under kld_* (docs/session-format.md).
core::RunRecord evalRun(const EvalArgs& args, const core::LlamaModel& model, const core::Protocol& protocol) {
    core::RunRecord run;
    run.command = "eval";
    run.modelPath = absoluteFolder(args.model);
    run.protocol = protocol;
    run.metrics["baseline"] = 0.0;
    // Storage of the decoder layers' linear modules, as the workbench counts it (its Pareto axis).
    double bytes = 0.0, weights = 0.0;
    for (int i = 0; i < model.config().numLayers; ++i) {
        const auto layer = model.layer(i);
        for (const auto kind : core::kAllModuleKinds) {
            const auto& linear = layer->linear(kind);
            bytes += double(linear->storageBytes());
            weights += double(linear->outFeatures()) * double(linear->inFeatures());
        }
    }
    run.metrics["bytes"] = bytes;
    if (weights > 0) run.metrics["bits_per_weight"] = 8.0 * bytes / weights;
    return run;
}

std::string appendRun(const EvalArgs& args, const core::RunRecord& run) {
    return SessionAppend(args.session).append(run, [&] { return core::makeSessionProvenance(*core::Checkpoint::open(args.model)); });
}

void printSessionLine(const EvalArgs& args, const std::string& runId) {
    if (!runId.empty()) std::printf("session      %s (%s)\n", args.session.c_str(), runId.c_str());
}

// eval --baseline / --baseline-logits: the KL divergence of the model from the baseline.
int printAgainstBaseline(const EvalArgs& args, const core::LlamaModel& model, const core::BaselineEvalResult& r,
                         const core::Protocol& protocol) {
    const auto& s = r.stats;
    core::RunRecord run = evalRun(args, model, protocol);
    auto& m = run.metrics;
    m["perplexity"] = s.perplexity;
    m.merge(core::kldMetrics(s));
    m["predictions"] = double(s.positions);
    m["windows"] = r.windows;
    m["ctx"] = r.ctx;
    m["eval_seconds"] = r.seconds;
    const std::string runId = appendRun(args, run);
    if (args.json) {
        nlohmann::ordered_json j;
        j["model"] = args.model;
        if (!args.baseline.empty()) j["baseline"] = args.baseline;
        if (!args.baselineLogits.empty()) j["baseline_logits"] = args.baselineLogits;
        j["text"] = args.text;
        j["ctx"] = r.ctx;
        j["windows"] = r.windows;
        j["positions"] = s.positions;
        j["perplexity"] = s.perplexity;
        j["baseline_perplexity"] = s.baselinePerplexity;
        j["perplexity_delta_percent"] = s.perplexityDeltaPercent;
        j["kld_mean"] = s.kldMean;
        j["kld_median"] = s.kldMedian;
        j["kld_p90"] = s.kldP90;
        j["kld_p99"] = s.kldP99;
        j["kld_max"] = s.kldMax;
        j["top1_agreement_percent"] = s.top1AgreementPercent;
        j["delta_p_rms_percent"] = s.deltaPRmsPercent;
        j["worst_1pct_top1_percent"] = s.worstPercentTop1Percent;
        j["worst_1pct_positions"] = s.worstPercentPositions;
        j["seconds"] = r.seconds;
        j["threads"] = core::threadCount();
        j["protocol"] = protocolJson(protocol);
        if (!runId.empty()) j["session"] = {{"file", args.session}, {"run", runId}};
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("perplexity           %.4f\n", s.perplexity);
    std::printf("baseline perplexity  %.4f\n", s.baselinePerplexity);
    std::printf("perplexity change    %+.2f %%\n", s.perplexityDeltaPercent);
    std::printf("KLD mean             %.6f nats\n", s.kldMean);
    std::printf("KLD median           %.6f nats\n", s.kldMedian);
    std::printf("KLD p90              %.6f nats\n", s.kldP90);
    std::printf("KLD p99              %.6f nats\n", s.kldP99);
    std::printf("KLD max              %.6f nats\n", s.kldMax);
    std::printf("top-1 agreement      %.2f %%\n", s.top1AgreementPercent);
    std::printf("RMS Δp               %.3f %%\n", s.deltaPRmsPercent);
    std::printf("same top, worst 1%%   %.2f %% of %s positions\n", s.worstPercentTop1Percent,
                withThousands(std::uint64_t(s.worstPercentPositions)).c_str());
    std::printf("positions            %s (%d windows of %d tokens)\n", withThousands(std::uint64_t(s.positions)).c_str(),
                r.windows, r.ctx);
    std::printf("wall time            %.2f s\n", r.seconds);
    std::printf("baseline             %s\n", (args.baseline.empty() ? args.baselineLogits : args.baseline).c_str());
    if (!runId.empty()) std::printf("session              %s (%s)\n", args.session.c_str(), runId.c_str());
    return 0;
}

/// The dtype of the model whose logits a --baseline-logits file holds, when its folder is still
/// there; else what the file says.
std::string savedBaselineDtype(const core::LogitsFile& file) {
    try {
        return core::checkpointDtype(file.header().model);
    } catch (const core::Error&) {
        return "unknown (logits of " + file.header().model + ")";
    }
}

int runAgainstBaseline(const EvalArgs& args, const core::LlamaModel& model, const std::string& text,
                       const std::vector<int>& stream, const core::PerplexityOptions& options, bool bos) {
    const auto context = terminalContext(args.quiet || args.json);
    const auto protocolOf = [&](const core::BaselineEvalResult& r, std::string dtype) {
        return evalProtocol(args, text, r.ctx, r.windows, bos, std::move(dtype));
    };
    if (!args.baselineLogits.empty()) {
        const auto file = core::LogitsFile::open(args.baselineLogits);
        // Its errors name the file ("<file>: made with ctx 256, this run uses 512").
        const auto r = core::evaluateAgainstBaseline(model, *file, stream, core::sha256Hex(text), options, context);
        return printAgainstBaseline(args, model, r, protocolOf(r, savedBaselineDtype(*file)));
    }
    const auto baseline = core::loadModel(args.baseline);
    const auto& c = baseline->config();
    // Both models must read the same tokens: the baseline's tokenizer is asked too.
    const auto baselineStream = core::encodeDocuments(*core::Tokenizer::load(args.baseline, c.bosTokenId, c.eosTokenId), text);
    if (baselineStream != stream)
        throw core::Error(args.baseline + ": its tokenizer encodes " + args.text + " differently from " + args.model + "'s");
    const auto r = core::evaluateAgainstBaseline(model, *baseline, stream, options, context);
    return printAgainstBaseline(args, model, r, protocolOf(r, core::checkpointDtype(args.baseline)));
}

}  // namespace

int runEval(const EvalArgs& args) {
    const bool againstBaseline = !args.baseline.empty() || !args.baselineLogits.empty();
    if (!args.baseline.empty() && !args.baselineLogits.empty())
        throw core::Error("--baseline and --baseline-logits are mutually exclusive: give one");
    if (againstBaseline && !args.saveLogits.empty())
        throw core::Error("--save-logits saves a baseline; it does not combine with --baseline or --baseline-logits");
    SessionAppend(args.session).check();  // before any work: an unreadable session costs nothing
    const auto model = core::loadModel(args.model);
    const auto& c = model->config();
    const auto tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    const std::string text = core::readTextFile(args.text);
    const auto stream = core::encodeDocuments(*tokenizer, text);
    core::PerplexityOptions options;
    options.ctx = args.ctx;
    options.maxWindows = args.maxWindows;
    options.batchWindows = args.batch;
    const int windows = core::perplexityWindowCount(stream.size(), options);
    if (windows == 0)
        throw core::Error(args.text + ": the text holds " + std::to_string(stream.size()) + " tokens, fewer than one window of " +
                          std::to_string(args.ctx));
    const bool bos = tokenizer->addsBos() && tokenizer->bos().has_value();
    if (againstBaseline) return runAgainstBaseline(args, *model, text, stream, options, bos);
    // --save-logits: the file's shape is known before the first forward, so it is opened (and a
    // missing folder reported) before any work, then filled one window at a time.
    std::unique_ptr<core::LogitsFileWriter> logitsOut;
    if (!args.saveLogits.empty()) {
        logitsOut = std::make_unique<core::LogitsFileWriter>(
            args.saveLogits,
            core::LogitsFileHeader{.model = args.model,
                                   .text = args.text,
                                   .textSha256 = core::sha256Hex(text),
                                   .ctx = args.ctx,
                                   .windows = windows,
                                   .vocab = c.vocabSize,
                                   .bos = bos},
            stream);
        options.logitsSink = [&](const std::vector<int>&, const core::MatrixRM& logits) { logitsOut->appendWindow(logits); };
    }
    const auto r = core::withErrorContext(args.text, [&] {
        return core::evaluatePerplexity(*model, stream, options, terminalContext(args.quiet || args.json));
    });
    if (logitsOut) logitsOut->commit();
    const core::Protocol protocol = evalProtocol(args, text, r.ctx, r.windows, bos, std::nullopt);
    core::RunRecord run = evalRun(args, *model, protocol);
    run.metrics["perplexity"] = r.perplexity;
    run.metrics["loss"] = r.meanLoss;
    run.metrics["predictions"] = double(r.predictions);
    run.metrics["windows"] = r.windows;
    run.metrics["ctx"] = r.ctx;
    run.metrics["eval_seconds"] = r.seconds;
    run.metrics["tokens_per_second"] = r.tokensPerSecond;
    const std::string runId = appendRun(args, run);
    if (args.json) {
        nlohmann::ordered_json j;
        j["model"] = args.model;
        j["text"] = args.text;
        j["perplexity"] = r.perplexity;
        j["loss"] = r.meanLoss;
        j["predictions"] = r.predictions;
        j["tokens_per_second"] = r.tokensPerSecond;
        j["seconds"] = r.seconds;
        j["ctx"] = r.ctx;
        j["windows"] = r.windows;
        j["threads"] = core::threadCount();
        if (!args.saveLogits.empty()) j["logits_file"] = args.saveLogits;
        j["protocol"] = protocolJson(protocol);
        if (!runId.empty()) j["session"] = {{"file", args.session}, {"run", runId}};
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("perplexity   %.4f\n", r.perplexity);
    std::printf("mean loss    %.4f nats\n", r.meanLoss);
    std::printf("predictions  %s (%d windows of %d tokens)\n", withThousands(std::uint64_t(r.predictions)).c_str(), r.windows,
                r.ctx);
    std::printf("speed        %.0f tokens/s (%d threads)\n", r.tokensPerSecond, core::threadCount());
    std::printf("wall time    %.2f s\n", r.seconds);
    if (!args.saveLogits.empty()) std::printf("logits       %s\n", args.saveLogits.c_str());
    printSessionLine(args, runId);
    return 0;
}

}  // namespace qb::cli

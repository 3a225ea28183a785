#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/cmd_export.h"
#include "app/cli/commands.h"
#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/io/model_config.h"
#include "core/quant/pipeline.h"
#include "core/quant/plan.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/resume_state.h"
#include "core/store/session_provenance.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace qb::cli {

namespace {

std::string groupLabel(const core::QuantScheme& s) {
    if (s.method == core::QuantMethod::Fp16 || s.method == core::QuantMethod::W8A8 || s.method == core::QuantMethod::SmoothQuant ||
        s.method == core::QuantMethod::LlmInt8)
        return "-";
    return s.grid.groupSize ? std::to_string(*s.grid.groupSize) : "row";
}

std::string bitsLabel(const core::QuantScheme& s) {
    switch (s.method) {
        case core::QuantMethod::Fp16: return "16";
        case core::QuantMethod::W8A8:
        case core::QuantMethod::SmoothQuant: return "8/" + std::to_string(s.smooth.actBits);
        case core::QuantMethod::LlmInt8: return "8";
        default: return std::to_string(s.grid.bits);
    }
}

int dryRun(const QuantizeArgs& args, const core::QuantPlan& plan, const core::ModelConfig& config) {
    const auto names = core::linearModuleNames(config);
    for (const auto& w : plan.check(names)) std::fprintf(stderr, "warning: %s: %s\n", args.plan.c_str(), w.c_str());
    if (args.json) {
        nlohmann::ordered_json j;
        for (const auto& n : names) j["modules"].push_back({{"name", n}, {"scheme", nlohmann::json::parse(core::schemeToJson(plan.resolve(n)))}});
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("%-40s %s\n", "module", "scheme");
    for (const auto& n : names) std::printf("%-40s %s\n", n.c_str(), plan.resolve(n).label().c_str());
    return 0;
}

/// The run quantize appends to --session: the plan, every module's relative output error, size,
/// time and (with --eval) perplexity under the workbench's metric names.
/// Where this run's time went, one stage per line (stages that took no time are left out).
void printStages(const core::QuantizeResult& result, double writeSeconds) {
    const double run = std::max(result.stages.total(), 1e-9);
    std::printf("\n%-18s %10s %7s\n", "stage", "seconds", "share");
    for (const auto& [name, seconds] : result.stages.entries())
        if (seconds >= 0.005) std::printf("%-18s %10.2f %6.1f%%\n", name.c_str(), seconds, 100.0 * seconds / run);
    std::printf("%-18s %10.2f\n", "write checkpoint", writeSeconds);
}

core::RunRecord quantizeRun(const QuantizeArgs& args, const core::QuantizeResult& result,
                            const std::optional<core::PerplexityResult>& ppl, const core::Protocol& protocol) {
    core::RunRecord run;
    run.command = "quantize";
    run.modelPath = absoluteFolder(args.out);
    run.planJson = core::readTextFile(args.plan);
    run.protocol = protocol;
    auto& m = run.metrics;
    m["baseline"] = 0.0;
    m["bits_per_weight"] = result.bitsPerWeight;
    m["bytes"] = double(result.linearBytes);
    m["quantize_seconds"] = result.seconds;
    if (ppl) {
        m["perplexity"] = ppl->perplexity;
        m["loss"] = ppl->meanLoss;
        m["predictions"] = double(ppl->predictions);
        m["windows"] = ppl->windows;
        m["ctx"] = ppl->ctx;
        m["eval_seconds"] = ppl->seconds;
        m["tokens_per_second"] = ppl->tokensPerSecond;
    }
    for (const auto& r : result.modules) run.moduleErrors[r.name] = r.relativeError;
    run.trainingLoss = core::trainingLossByLayer(result.modules);
    return run;
}

// The export quantize --export runs on its checkpoint; nullopt without --export.
std::optional<ExportArgs> exportArgsOf(const QuantizeArgs& args) {
    if (args.exportFormat.empty()) return std::nullopt;
    if (args.json) throw core::Error("quantize: --export prints the export's report; use it without --json (or run export --json afterwards)");
    ExportArgs e;
    e.model = args.out;
    e.format = args.exportFormat;
    e.type = args.exportType;
    e.outputType = args.exportOutputType;
    e.checkpointFormat = args.exportCheckpointFormat;
    const std::string base = std::filesystem::path(args.out).lexically_normal().string();
    const std::string trimmed = base.size() > 1 && base.back() == '/' ? base.substr(0, base.size() - 1) : base;
    e.out = !args.exportOut.empty() ? args.exportOut : args.exportFormat == "gguf" ? trimmed + ".gguf" : trimmed + "-" + args.exportFormat;
    e.text = args.evalText;
    e.quiet = args.quiet;
    return e;
}

// Test-only hook (tests/app/test_cli_resume, scripts/kill_storm.sh): with the environment
// variable QB_TEST_STOP_AFTER_LAYER=k, the run requests a stop once layer k is durable, as a
// Ctrl-C at that moment would — an interruption at a known layer, without timing.
class StopAfterLayer final : public core::LayerJournal {
public:
    StopAfterLayer(core::LayerJournal& inner, const core::RunContext& ctx, int layer) : m_inner(inner), m_ctx(ctx), m_layer(layer) {}
    std::optional<core::PartialQuantization> restore(const core::LlamaModel& model, const core::QuantPlan& plan, bool withLayers) override {
        return m_inner.restore(model, plan, withLayers);
    }
    void layerDone(const core::DecoderLayer& layer, const std::vector<core::ModuleReport>& modules, double seconds,
                   const core::MatrixRM& hidden, const core::MatrixRM& fpHidden) override {
        m_inner.layerDone(layer, modules, seconds, hidden, fpHidden);
        if (layer.index == m_layer) m_ctx.requestStop();
    }

private:
    core::LayerJournal& m_inner;
    const core::RunContext& m_ctx;
    int m_layer;
};

std::optional<int> testStopLayer() {
    const char* v = std::getenv("QB_TEST_STOP_AFTER_LAYER");
    if (!v || !*v) return std::nullopt;
    return std::atoi(v);
}

// Lines about the resume state reach stderr even with --quiet/--json: they say what happened to
// work on disk.
core::RunContext noteContext() {
    return core::RunContext(nullptr, [](std::string_view line) { std::fprintf(stderr, "note: %.*s\n", int(line.size()), line.data()); });
}

}  // namespace

int runQuantize(const QuantizeArgs& args) {
    const auto ctx = terminalContext(args.quiet || args.json);
    const StopOnSignal stopOnSignal(ctx);  // Ctrl-C: stop at the next layer, leave no output behind
    const auto plan = core::QuantPlan::fromFile(args.plan);
    // The schemes resolve from the module names, which config.json alone gives: no weights loaded.
    if (args.dryRun) {
        if (!args.session.empty()) throw core::Error("quantize: --dry-run quantizes nothing, so it has no run for --session");
        if (!std::filesystem::is_directory(args.model)) throw core::Error(args.model + ": no such folder");
        return dryRun(args, plan, core::ModelConfig::fromFile(std::filesystem::path(args.model) / "config.json"));
    }
    if (args.calib.empty()) throw core::Error("quantize: --calib FILE is required (unless --dry-run)");
    if (args.out.empty()) throw core::Error("quantize: --out DIR is required (unless --dry-run)");
    // A run killed after its checkpoint landed but before its state was removed leaves both;
    // --resume then finds the run done (below, once the fingerprint matches).
    const auto stateFolder = core::QuantizeResumeState::folderFor(args.out);
    const bool maybeDone = args.resume && std::filesystem::exists(stateFolder) && std::filesystem::exists(std::filesystem::path(args.out) / "config.json");
    // Killed after the state was removed, before exiting: no state, and an output that records
    // this run's fingerprint (checked below, once the fingerprint is known).
    const bool maybeWritten = args.resume && !std::filesystem::exists(stateFolder) &&
                              std::filesystem::exists(std::filesystem::path(args.out) / "quantbench_report.json");
    if (!maybeDone && !maybeWritten) core::checkQuantizedCheckpointOutput(args.out);  // before any work, not after calibration
    const std::optional<ExportArgs> exportArgs = exportArgsOf(args);
    if (exportArgs) checkExportArgs(*exportArgs);  // likewise for the export's format, type and path
    const SessionAppend session(args.session);
    session.check();  // likewise: an unreadable session is refused before anything is written
    const std::string evalText = args.evalText.empty() ? std::string() : core::readTextFile(args.evalText);

    const auto model = core::loadModel(args.model);
    for (const auto& w : plan.check(core::linearModuleNames(model->config())))
        std::fprintf(stderr, "warning: %s: %s\n", args.plan.c_str(), w.c_str());
    const auto& c = model->config();
    const auto tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    const std::string calibText = core::readTextFile(args.calib);
    const auto stream = core::encodeDocuments(*tokenizer, calibText);
    const auto calibration = core::sampleCalibration(stream, {args.calibWindows, args.calibCtx, args.seed});
    if (calibration.shortened) std::fprintf(stderr, "note: %s: %s\n", args.calib.c_str(), calibration.note.c_str());

    // Durable per-layer state beside the output, so that an interrupted run can be continued
    // (--resume) into the checkpoint an uninterrupted one writes; removed once that is written.
    core::QuantizeOptions options;
    // Each finished layer lives only in the state folder until the checkpoint is written from
    // there, one layer at a time: the run holds one layer, not the whole quantized model.
    options.keepLayers = false;
    const auto fingerprint = core::quantizeFingerprint(args.model, plan, calibText, calibration, args.seed, options,
                                                       core::BackendRegistry::instance().preferred()->name());
    const auto notes = noteContext();
    if (maybeWritten) {
        if (core::QuantizeResumeState::outputHoldsRun(args.out, fingerprint)) {
            notes.log(args.out + " was written by this run before the interruption (nothing to resume; --eval, --session and --export did not run)");
            return 0;
        }
        core::checkQuantizedCheckpointOutput(args.out);  // another run's output: refused as before
    }
    if (maybeDone && !core::QuantizeResumeState::holdsRun(stateFolder)) {  // the state's removal was cut short
        std::error_code ec;
        std::filesystem::remove_all(stateFolder, ec);
        notes.log(args.out + " was written before the interruption; its state is removed (nothing to resume; --eval, --session and --export did not run)");
        return 0;
    }
    const auto state = args.resume ? core::QuantizeResumeState::resume(stateFolder, fingerprint, notes)
                                   : core::QuantizeResumeState::startFresh(stateFolder, fingerprint, notes);
    if (maybeDone) {
        if (core::QuantizeResumeState::completeLayers(stateFolder) == c.numLayers) {
            state->remove();
            notes.log(args.out + " was written before the interruption; its state is removed (nothing to resume; --eval, --session and --export did not run)");
            return 0;
        }
        core::checkQuantizedCheckpointOutput(args.out);
    }
    std::optional<StopAfterLayer> stopHook;
    if (const auto k = testStopLayer()) stopHook.emplace(*state, ctx, *k);
    options.journal = stopHook ? static_cast<core::LayerJournal*>(&*stopHook) : state.get();
    auto result = [&] {
        try {
            return core::quantizeModel(*model, plan, calibration, ctx, options);
        } catch (const core::Cancelled&) {
            notes.log(std::to_string(core::QuantizeResumeState::completeLayers(stateFolder)) + " of " + std::to_string(c.numLayers) +
                      " layers are kept in " + stateFolder.string() + "; quantize --resume with the same arguments continues");
            throw;
        }
    }();
    result.fingerprintJson = fingerprint.toJson();
    const auto writeStart = std::chrono::steady_clock::now();
    core::writeQuantizedCheckpoint(*model, [&](int i) { return state->layer(i, c, plan); }, result, plan, args.model, args.out, ctx);
    const double writeSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - writeStart).count();
    state->remove();

    std::optional<core::PerplexityResult> ppl;
    if (!args.evalText.empty()) {  // on the checkpoint as written (it reloads exactly: F16-exact scales, packed codes)
        const auto evalStream = core::encodeDocuments(*tokenizer, evalText);
        core::PerplexityOptions pplOptions;
        pplOptions.ctx = args.evalCtx;
        ppl = core::evaluatePerplexity(*core::loadModel(args.out), evalStream, pplOptions, ctx);
    }
    core::Protocol protocol;
    protocol.calibration = core::makeCalibrationProtocol(args.calib, calibText, calibration.windows, calibration.ctx, args.seed);
    if (ppl)
        protocol.eval = core::makeEvalProtocol(args.evalText, evalText, ppl->ctx, ppl->windows,
                                               tokenizer->addsBos() && tokenizer->bos().has_value());
    protocol.environment = core::currentEnvironment();
    const std::string runId = session.append(quantizeRun(args, result, ppl, protocol), [&] {
        auto provenance = core::makeSessionProvenance(*core::Checkpoint::open(args.model), calibText, calibration, args.seed);
        provenance.modelPath = absoluteFolder(args.model);
        return provenance;
    });

    if (args.json) {
        nlohmann::ordered_json j;
        j["model"] = args.model;
        j["plan"] = args.plan;
        j["out"] = args.out;
        j["calibration"] = {{"windows", calibration.windows}, {"ctx", calibration.ctx}, {"seed", args.seed}};
        for (const auto& r : result.modules) {
            nlohmann::ordered_json m{{"name", r.name},         {"method", core::methodName(r.scheme.method)},
                                     {"format", r.format},     {"relative_error", r.relativeError},
                                     {"seconds", r.seconds},   {"bytes", r.bytes},
                                     {"bits_per_weight", r.bitsPerWeight}};
            if (r.outlierColumnFraction) m["outlier_column_fraction"] = *r.outlierColumnFraction;
            if (r.awqAlpha) m["awq_alpha"] = *r.awqAlpha;
            if (r.gptqDamping) m["gptq_damping"] = *r.gptqDamping;
            j["modules"].push_back(m);
        }
        // OmniQuant: each trained layer's loss per epoch, {"layer": i, "loss": [...]}.
        for (const auto& [layer, history] : core::trainingLossByLayer(result.modules))
            j["training_loss"].push_back({{"layer", layer}, {"loss", history}});
        j["bits_per_weight"] = result.bitsPerWeight;
        j["linear_bytes"] = result.linearBytes;
        j["seconds"] = result.seconds;
        for (const auto& [name, seconds] : result.stages.entries()) j["stage_seconds"][name] = seconds;
        j["stage_seconds"]["write checkpoint"] = writeSeconds;
        if (ppl) j["perplexity"] = ppl->perplexity;
        j["protocol"] = protocolJson(protocol);
        if (!runId.empty()) j["session"] = {{"file", args.session}, {"run", runId}};
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("%-36s %-12s %5s %5s %11s %8s %9s\n", "module", "method", "bits", "group", "rel. error", "seconds", "bytes");
    for (const auto& r : result.modules) {
        std::string extra;
        if (r.outlierColumnFraction) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "  fp columns %.1f%%", 100.0 * *r.outlierColumnFraction);
            extra = buf;
        }
        if ((r.scheme.method == core::QuantMethod::W8A8 || r.scheme.method == core::QuantMethod::SmoothQuant) &&
            core::isSimulatedActBits(r.scheme.smooth.actBits))
            extra += "  activations simulated";  // bits "8/6": per-token 6-bit codes on the int8 kernels
        std::printf("%-36s %-12s %5s %5s %11.3e %8.3f %9zu%s\n", r.name.c_str(), core::methodName(r.scheme.method).c_str(),
                    bitsLabel(r.scheme).c_str(), groupLabel(r.scheme).c_str(), r.relativeError, r.seconds, r.bytes, extra.c_str());
    }
    printStages(result, writeSeconds);
    std::printf("\nlinear weights  %s in %s (%.3f bits per weight)\n", withThousands(result.linearWeights).c_str(),
                humanBytes(result.linearBytes).c_str(), result.bitsPerWeight);
    std::printf("time            %.2f s\n", result.seconds);
    if (ppl) std::printf("perplexity      %.4f on %s (ctx %d, %d windows)\n", ppl->perplexity, args.evalText.c_str(), ppl->ctx, ppl->windows);
    std::printf("written         %s\n", args.out.c_str());
    if (!runId.empty()) std::printf("session         %s (%s)\n", args.session.c_str(), runId.c_str());
    if (exportArgs) {
        std::printf("\nexport          %s as %s\n", args.out.c_str(), exportArgs->format.c_str());
        return runExport(*exportArgs);  // the same export and check as `quantbench-cli export`
    }
    return 0;
}

}  // namespace qb::cli

// quantbench-cli bench: latency and memory of a model against its FP16 version, or the
// matrix–vector kernels per format (--kernels).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/backend/backend.h"
#include "core/io/checkpoint.h"
#include "core/kernels/kernel_bench.h"
#include "core/kernels/model_bench.h"
#include "core/store/session_provenance.h"
#include "core/util/error.h"

namespace qb::cli {

namespace {

nlohmann::ordered_json figuresJson(const core::ModelBenchFigures& f) {
    return {{"prefill_tokens_per_second", f.prefillTokensPerSecond},
            {"decode_ms_per_token", f.decodeMsPerToken},
            {"weight_bytes", f.weightBytes},
            {"peak_rss_bytes", f.peakRssBytes}};
}

// "4096x11008" → (4096, 11008). Throws Error on anything else.
std::pair<core::Index, core::Index> parseShape(const std::string& text) {
    constexpr long kMaxSide = 1 << 20;
    const std::size_t x = text.find('x');
    char* end = nullptr;
    const long rows = x == std::string::npos ? 0 : std::strtol(text.c_str(), &end, 10);
    const bool rowsOk = x != std::string::npos && end == text.c_str() + x;
    const long cols = rowsOk ? std::strtol(text.c_str() + x + 1, &end, 10) : 0;
    if (!rowsOk || *end != '\0' || rows < 1 || cols < 1 || rows > kMaxSide || cols > kMaxSide)
        throw core::Error("bench: --shape '" + text + "' is not ROWSxCOLS (each 1.." + std::to_string(kMaxSide) + ")");
    return {rows, cols};
}

int runKernels(const BenchArgs& args) {
    core::kernels::KernelBenchOptions options;
    options.repeats = args.repeats.value_or(25);
    if (!args.shapes.empty()) {
        options.shapes.clear();
        for (const auto& s : args.shapes) options.shapes.push_back(parseShape(s));
    }
    const auto r = core::kernels::runKernelBenchmark(options, terminalContext(args.json));
    if (args.json) {
        nlohmann::ordered_json j;
        for (const auto& e : r.entries)
            j["kernels"].push_back({{"format", e.format}, {"rows", e.rows}, {"cols", e.cols}, {"seconds", e.seconds},
                                    {"gbps", e.gbps}, {"speedup_vs_fp16", e.speedupVsFp16},
                                    {"bandwidth_share", e.bandwidthShare}, {"weight_bytes", e.weightBytes}});
        j["read_bandwidth_gbps"] = r.readGbps;
        j["threads"] = r.threads;
        j["repeats"] = r.repeats;
        j["kernel_path"] = r.path;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("matrix-vector products, %s kernels, %d threads, median of %d repeats\n", r.path.c_str(), r.threads, r.repeats);
    std::printf("read bandwidth (STREAM-like, same loop): %.2f GB/s\n\n", r.readGbps);
    std::printf("%-10s %13s %12s %9s %10s %9s\n", "format", "shape", "seconds", "GB/s", "vs fp16", "of read");
    for (const auto& e : r.entries) {
        const std::string shape = std::to_string(e.rows) + "x" + std::to_string(e.cols);
        std::printf("%-10s %13s %12.6f %9.2f %9.2fx %8.0f%%\n", e.format.c_str(), shape.c_str(), e.seconds, e.gbps,
                    e.speedupVsFp16, 100.0 * e.bandwidthShare);
    }
    return 0;
}

/// The run bench appends to --session: the model's latency under the workbench's metric names,
/// its FP16 version's as fp16_*, and the memory figures of both.
core::RunRecord benchRun(const BenchArgs& args, const core::ModelBenchFigures& model, const core::ModelBenchFigures& fp16,
                         const core::Protocol& protocol) {
    core::RunRecord run;
    run.command = "bench";
    run.modelPath = absoluteFolder(args.model);
    run.protocol = protocol;
    auto& m = run.metrics;
    m["baseline"] = 0.0;
    m["decode_ms_per_token"] = model.decodeMsPerToken;
    m["prefill_tokens_per_second"] = model.prefillTokensPerSecond;
    m["bench_prompt_tokens"] = args.promptTokens;
    m["bench_gen_tokens"] = args.genTokens;
    m["weight_bytes"] = double(model.weightBytes);
    m["peak_rss_bytes"] = double(model.peakRssBytes);
    m["fp16_decode_ms_per_token"] = fp16.decodeMsPerToken;
    m["fp16_prefill_tokens_per_second"] = fp16.prefillTokensPerSecond;
    m["fp16_weight_bytes"] = double(fp16.weightBytes);
    m["fp16_peak_rss_bytes"] = double(fp16.peakRssBytes);
    return run;
}

}  // namespace

int runBench(const BenchArgs& args) {
    if (args.kernels && !args.session.empty())
        throw core::Error("bench: --kernels measures no model, so it has no run for --session");
    if (args.kernels) return runKernels(args);
    if (args.model.empty()) throw core::Error("bench: --model is required (or --kernels)");
    const SessionAppend session(args.session);
    session.check();  // before the measurements: an unreadable session is one error line
    core::ModelBenchOptions options;
    options.model = args.model;
    options.promptTokens = args.promptTokens;
    options.genTokens = args.genTokens;
    options.prefillRepeats = args.repeats.value_or(3);
    // Each configuration in its own child process, so that each peak RSS is its own.
    const auto model = core::measureModelIsolated(options, core::BenchPrecision::AsStored);
    const auto fp16 = core::measureModelIsolated(options, core::BenchPrecision::Fp16);
    core::Protocol protocol;
    protocol.bench = core::BenchProtocol{args.promptTokens, args.genTokens, options.prefillRepeats};
    protocol.environment = core::currentEnvironment();
    const std::string runId = session.append(benchRun(args, model, fp16, protocol), [&] {
        return core::makeSessionProvenance(*core::Checkpoint::open(args.model));
    });
    if (args.json) {
        nlohmann::ordered_json j;
        j["model"] = figuresJson(model);
        j["fp16"] = figuresJson(fp16);
        j["prompt_tokens"] = args.promptTokens;
        j["gen_tokens"] = args.genTokens;
        j["threads"] = core::threadCount();
        j["protocol"] = protocolJson(protocol);
        if (!runId.empty()) j["session"] = {{"file", args.session}, {"run", runId}};
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::printf("model         %s\n", args.model.c_str());
    std::printf("workload      prompt %d tokens (one window), %d greedy tokens with a KV cache, %d threads\n\n", args.promptTokens,
                args.genTokens, core::threadCount());
    std::printf("%-18s %14s %14s %10s\n", "", "model", "fp16", "ratio");
    std::printf("%-18s %14.1f %14.1f %9.2fx  (speed-up)\n", "prefill tokens/s", model.prefillTokensPerSecond,
                fp16.prefillTokensPerSecond, ratio(model.prefillTokensPerSecond, fp16.prefillTokensPerSecond));
    std::printf("%-18s %14.2f %14.2f %9.2fx  (speed-up; means %.2f / %.2f)\n", "decode ms/token", model.decodeMsPerToken,
                fp16.decodeMsPerToken, ratio(fp16.decodeMsPerToken, model.decodeMsPerToken), model.decodeMsPerTokenMean,
                fp16.decodeMsPerTokenMean);
    std::printf("%-18s %14s %14s %9.1f%%\n", "weight bytes", humanBytes(model.weightBytes).c_str(), humanBytes(fp16.weightBytes).c_str(),
                100.0 * ratio(double(model.weightBytes), double(fp16.weightBytes)));
    std::printf("%-18s %14s %14s %9.1f%%\n", "peak RSS", humanBytes(model.peakRssBytes).c_str(), humanBytes(fp16.peakRssBytes).c_str(),
                100.0 * ratio(double(model.peakRssBytes), double(fp16.peakRssBytes)));
    if (!runId.empty()) std::printf("\nsession       %s (%s)\n", args.session.c_str(), runId.c_str());
    return 0;
}

}  // namespace qb::cli

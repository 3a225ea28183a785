#include "ui/jobs/benchmark_jobs.h"

#include <cstdio>

#include "core/kernels/model_bench.h"
#include "core/store/run_protocol.h"
#include "ui/jobs/core_jobs.h"

namespace qb::ui {

JobWork benchmarkWork(std::shared_ptr<const LoadedModel> model, std::vector<BenchmarkTarget> targets, BenchmarkSettings settings) {
    return makeJobWork([model = std::move(model), targets = std::move(targets), settings](const core::RunContext& ctx) {
        if (settings.genTokens < 2) throw core::Error("bench: at least 2 tokens must be generated to time a decode step");
        BenchmarkResult result;
        result.settings = settings;
        result.environment = core::currentEnvironment();
        core::ModelBenchOptions options;
        options.promptTokens = settings.promptTokens;
        options.genTokens = settings.genTokens;
        options.prefillRepeats = settings.prefillRepeats;
        const double n = double(std::max<std::size_t>(1, targets.size()));
        for (std::size_t i = 0; i < targets.size(); ++i) {
            const BenchmarkTarget& target = targets[i];
            const core::RunContext step = ctx.sub(double(i) / n, double(i + 1) / n);
            std::shared_ptr<const core::LlamaModel> measured = target.model;
            if (target.kind == RunKind::Fp16Baseline) {
                measured = core::toFp16Model(*model->model, step.sub(0.0, 0.1));
                const auto footprint = linearFootprint(*measured);
                result.fp16LinearBytes = footprint.bytes;
                result.fp16BitsPerWeight = footprint.weights ? 8.0 * double(footprint.bytes) / double(footprint.weights) : 0.0;
            }
            if (!measured) throw core::Error("bench: " + target.label + " holds no model");
            const auto f = core::measureInMemoryModel(*measured, options, step.sub(0.1, 1.0));
            result.figures.push_back({target.runId, target.kind, f.decodeMsPerToken, f.prefillTokensPerSecond});
            char line[160];
            std::snprintf(line, sizeof line, "%s: prefill %.0f tokens/s, decode %.3f ms/token", target.label.c_str(),
                          f.prefillTokensPerSecond, f.decodeMsPerToken);
            ctx.log(line);
        }
        return result;
    });
}

RunRecord withMeasurement(RunRecord record, const BenchmarkFigure& figure, const BenchmarkResult& result) {
    const BenchmarkSettings& settings = result.settings;
    record.decodeMsPerToken = figure.decodeMsPerToken;
    record.prefillTokensPerSecond = figure.prefillTokensPerSecond;
    record.benchPromptTokens = settings.promptTokens;
    record.benchGenTokens = settings.genTokens;
    if (!record.protocol) {
        record.protocol.emplace();
        record.protocol->environment = result.environment;
    }
    record.protocol->bench = core::BenchProtocol{settings.promptTokens, settings.genTokens, settings.prefillRepeats};
    return record;
}

}  // namespace qb::ui

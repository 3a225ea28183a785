#pragma once
// The Benchmark job: prefill tokens/s and greedy KV-cache decode ms/token of the runs that hold
// a model, plus the FP16 reference built in memory from the model as loaded
// (core::measureInMemoryModel, core::toFp16Model). The models are measured one after the other
// on one job thread (the JobQueue runs one job at a time, so nothing else competes for the
// cores). No Qt widgets; throws core::Error or core::Cancelled.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ui/jobs/job.h"
#include "ui/models/loaded_model.h"
#include "ui/models/run_record.h"

namespace qb::ui {

/// Token counts of the benchmark; modest, so the bundled model is measured in seconds.
struct BenchmarkSettings {
    int promptTokens = 64;   ///< prefill length
    int genTokens = 64;      ///< greedy tokens generated (decode steps = genTokens − 1)
    int prefillRepeats = 5;  ///< the prefill is timed this many times; the median is kept (robust to a busy machine)
};

/// One model to measure.
struct BenchmarkTarget {
    int runId = 0;  ///< the run the figures belong to; 0 = the FP16 reference has no run yet
    RunKind kind = RunKind::Quantized;
    std::string label;                               ///< for the log: "run 3", "FP16"
    std::shared_ptr<const core::LlamaModel> model;   ///< null for Fp16Baseline: built from the loaded model
};

/// The figures of one target.
struct BenchmarkFigure {
    int runId = 0;
    RunKind kind = RunKind::Quantized;
    double decodeMsPerToken = 0.0;
    double prefillTokensPerSecond = 0.0;
};

/// Result of benchmarkWork.
struct BenchmarkResult {
    std::vector<BenchmarkFigure> figures;  ///< in target order
    BenchmarkSettings settings;
    std::uint64_t fp16LinearBytes = 0;  ///< the FP16 reference's decoder linears (for a new FP16 run)
    double fp16BitsPerWeight = 0.0;
    core::EnvironmentProtocol environment;  ///< where the figures were measured (core::currentEnvironment on the job thread)
};

/// Result: BenchmarkResult. Measures every target in order.
[[nodiscard]] JobWork benchmarkWork(std::shared_ptr<const LoadedModel> model, std::vector<BenchmarkTarget> targets,
                                    BenchmarkSettings settings);

/// record with the figure's measurement (decode, prefill and the token counts) filled in, and
/// the bench section of its protocol (the workload of result.settings; the environment too when
/// the record has no protocol yet), as quantbench-cli bench stamps it.
[[nodiscard]] RunRecord withMeasurement(RunRecord record, const BenchmarkFigure& figure, const BenchmarkResult& result);

}  // namespace qb::ui

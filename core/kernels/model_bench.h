#pragma once
// Latency and memory of a model against its FP16 version (quantbench-cli bench --model):
// prefill tokens/s (the prompt as one window), greedy KV-cache decode ms/token
// (core/model/decode.h), weight bytes, and peak resident memory.
//
// Peak RSS is measured per configuration in a forked child process: the child loads the
// model, runs the benchmark and exits; the parent reads the child's ru_maxrss from wait4()
// (the kernel's high-water mark of the child's resident set, loading included). Each figure
// therefore covers exactly one configuration. The parent must not have run an OpenMP region
// before calling measureModelIsolated() (libgomp's thread pool does not survive fork).
//
// Configurations: AsStored — the checkpoint's own linears (packed kernels for quantized
// modules); Fp16 — every linear converted in memory to Fp16Linear (its dequantized weight
// rounded to F16). In both, an lm_head stored in F16 is multiplied as Fp16Linear (lossless),
// the embedding table is kept as stored (F16 stays F16, core/model/embedding_table.h) and layers' checkpoint pages are
// released as each layer is converted, so the mapped file does not inflate the peak.
//
// The workbench measures models it already holds (its quantized runs, and toFp16Model() of the
// model as loaded) with measureInMemoryModel(), on a job thread with a RunContext.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/model/llama_model.h"
#include "core/util/run_context.h"

namespace qb::core {

enum class BenchPrecision { AsStored, Fp16 };

struct ModelBenchOptions {
    std::filesystem::path model;  ///< the checkpoint folder (not read by measureInMemoryModel)
    int promptTokens = 128;
    int genTokens = 128;
    int prefillRepeats = 3;  ///< prefill timed this many times; the median is kept
};

struct ModelBenchFigures {
    double prefillTokensPerSecond = 0.0;
    double decodeMsPerToken = 0.0;      ///< median step time
    double decodeMsPerTokenMean = 0.0;  ///< mean step time
    std::uint64_t weightBytes = 0;      ///< every parameter as held: linears' storageBytes(), embedding as stored, norms in float32
    std::uint64_t peakRssBytes = 0;     ///< 0 when measured in-process
    double loadSeconds = 0.0;
};

/// Loads dir in the given configuration (see the header comment). Throws Error naming the file.
[[nodiscard]] std::shared_ptr<LlamaModel> loadModelForBench(const std::filesystem::path& dir, BenchPrecision precision);

/// The deterministic prompt used by the benchmark: BOS (or 1) then pseudo-random ids in the vocabulary.
[[nodiscard]] std::vector<int> benchPrompt(const ModelConfig& config, int tokens);

/// Bytes of every parameter of model as held in memory (see ModelBenchFigures::weightBytes).
[[nodiscard]] std::uint64_t modelWeightBytes(const LlamaModel& model);

/// The FP16 version of an in-memory model (the workbench's FP16 baseline): every decoder
/// linear becomes Fp16Linear::fromLinear (its dense weight — dequantized for quantized
/// modules — rounded to F16), and so does the lm_head (the embedding's when tied); the
/// embedding table and the norms are shared with model, not copied. The result is resident:
/// it holds 2 bytes per linear weight whatever model streams. Polls ctx once per layer.
/// Throws Error (a layer that cannot be loaded) or Cancelled.
[[nodiscard]] std::shared_ptr<LlamaModel> toFp16Model(const LlamaModel& model, const RunContext& ctx = {});

/// Measures a model already in memory (a quantized run of the workbench, or toFp16Model()):
/// the same warm-up, prefill (median of options.prefillRepeats) and greedy KV-cache decode
/// (median step) as measureModel(), on benchPrompt(options.promptTokens). options.model is not
/// read; weightBytes = modelWeightBytes(model); loadSeconds and peakRssBytes stay 0.
/// Reports progress per prefill and per decode step and polls ctx there. Throws Error (bad
/// token counts, prompt + generated tokens beyond the context) or Cancelled.
[[nodiscard]] ModelBenchFigures measureInMemoryModel(const LlamaModel& model, const ModelBenchOptions& options,
                                                     const RunContext& ctx = {});

/// Loads and measures in this process (peakRssBytes left 0).
[[nodiscard]] ModelBenchFigures measureModel(const ModelBenchOptions& options, BenchPrecision precision);

/// Loads and measures in a forked child and fills peakRssBytes from its ru_maxrss. Throws
/// Error with the child's message when it fails.
[[nodiscard]] ModelBenchFigures measureModelIsolated(const ModelBenchOptions& options, BenchPrecision precision);

}  // namespace qb::core

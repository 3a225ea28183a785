#pragma once
// Protocol — how a perplexity, KLD or latency figure was measured (issue 13: "every number
// carries its protocol"). One record per run, stamped by the CLI's eval, quantize and bench,
// printed in their --json output and kept in the session (/runs/<id>/protocol,
// docs/session-format.md). Two figures whose protocols differ are not comparable without a
// warning: compareProtocols() lists the differences in words a user reads.
//
// Every section is optional: a run that was not evaluated has no `eval`, a baseline has no
// `calibration`, a run that was not benchmarked has no `bench`; a run from a session written
// before the protocol existed has no protocol at all (RunRecord::protocol is empty).
// Plain values, no threads: build on any thread, copy freely.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qb::core {

/// How the evaluation text was scored (perplexity and KLD).
struct EvalProtocol {
    std::string text;    ///< the text's file name, e.g. "eval.txt"
    std::string sha256;  ///< SHA-256 of the text's bytes, 64 lowercase hex
    int ctx = 0;         ///< tokens per window
    int windows = 0;     ///< windows scored
    int stride = 0;      ///< tokens between window starts (= ctx: non-overlapping windows)
    /// "per-document": BOS before each document of the concatenated stream (windows are cut
    /// from it, so a window need not start with BOS); "none": the tokenizer adds no BOS.
    std::string bos;

    friend bool operator==(const EvalProtocol&, const EvalProtocol&) = default;
};

/// How the calibration windows were drawn (quantized runs).
struct CalibrationProtocol {
    std::string text;    ///< file name, e.g. "calib.txt"
    std::string sha256;  ///< SHA-256 of its bytes
    int windows = 0;     ///< windows actually used
    int ctx = 0;         ///< tokens per window actually used
    std::uint64_t seed = 0;

    friend bool operator==(const CalibrationProtocol&, const CalibrationProtocol&) = default;
};

/// The latency workload (bench).
struct BenchProtocol {
    int promptTokens = 0;    ///< prefill length, one window
    int genTokens = 0;       ///< greedy tokens decoded with a KV cache
    int prefillRepeats = 0;  ///< prefill repetitions (the median is reported)

    friend bool operator==(const BenchProtocol&, const BenchProtocol&) = default;
};

/// Where the figure was measured.
struct EnvironmentProtocol {
    int threads = 0;            ///< worker threads of the data-parallel loops
    std::string cpu;            ///< CPU model, e.g. "AMD EPYC 7B13" ("unknown" when the OS does not say)
    std::string isa;            ///< e.g. "avx2 fma f16c; kernels avx2" (features, then the kernel path used)
    std::string backend;        ///< preferred backend, "name: description", e.g. "cpu: CPU (Eigen, 16 threads)"
    std::string quantbenchVersion;  ///< QB_VERSION
    std::string gitCommit;      ///< short commit of the build, "unknown" outside a git checkout

    friend bool operator==(const EnvironmentProtocol&, const EnvironmentProtocol&) = default;
};

struct Protocol {
    std::optional<EvalProtocol> eval;
    /// KLD runs: dtype of the baseline the KL divergence is taken against ("F32", "F16",
    /// "BF16"; a saved-logits baseline: "logits of <its dtype or model>").
    std::optional<std::string> baselineDtype;
    std::optional<CalibrationProtocol> calibration;
    std::optional<BenchProtocol> bench;
    EnvironmentProtocol environment;

    friend bool operator==(const Protocol&, const Protocol&) = default;
};

/// This process's environment: threadCount(), the CPU model (/proc/cpuinfo), its ISA features
/// and the active kernel path, BackendRegistry::instance().preferred() (name and description),
/// QB_VERSION and the git commit the build was configured from.
[[nodiscard]] EnvironmentProtocol currentEnvironment();

/// An EvalProtocol of non-overlapping windows (stride = ctx) over textFile, whose bytes are
/// text: its file name and SHA-256; bos "per-document" when bosPerDocument, else "none".
[[nodiscard]] EvalProtocol makeEvalProtocol(const std::filesystem::path& textFile, const std::string& text, int ctx,
                                            int windows, bool bosPerDocument);
/// A CalibrationProtocol over textFile (bytes text) with the windows and ctx actually used.
[[nodiscard]] CalibrationProtocol makeCalibrationProtocol(const std::filesystem::path& textFile, const std::string& text,
                                                          int windows, int ctx, std::uint64_t seed);
/// The stored dtype of a checkpoint's linear weights ("F32", "F16", "BF16"; "quantized" for a
/// quantized checkpoint), read from the safetensors header of layer 0's q_proj. Throws Error
/// when the folder is not a checkpoint.
[[nodiscard]] std::string checkpointDtype(const std::filesystem::path& modelDir);

/// Which figures a comparison is about: quality (perplexity, KLD) does not depend on threads or
/// the latency workload; latency does not depend on the evaluation text.
enum class ProtocolScope { All, Quality, Latency };

/// The differences between a and b that make their figures not directly comparable, one
/// user-facing line each, in a fixed order (eval text, ctx, windows, stride, BOS, baseline
/// dtype, calibration, bench workload, environment), e.g.
///   "eval text differs: eval.txt (sha 1a2b3c4d…) vs wiki.txt (sha 9f8e7d6c…)", "ctx 512 vs 1024".
/// A section present on only one side is not a difference (a baseline has no calibration);
/// empty when the figures compare cleanly.
[[nodiscard]] std::vector<std::string> compareProtocols(const Protocol& a, const Protocol& b,
                                                        ProtocolScope scope = ProtocolScope::All);

/// The protocol as a JSON object (the keys of the session's /runs/<id>/protocol groups):
/// {"eval": {...}, "baseline_dtype": ..., "calibration": {...}, "bench": {...}, "environment": {...}}.
[[nodiscard]] std::string protocolToJson(const Protocol& protocol);

}  // namespace qb::core

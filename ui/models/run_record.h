#pragma once
// RunRecord — one row of the Results view: a plan applied to the model and what it measured.
// Two runs are baselines, made by "Evaluate baseline": the model as loaded (its dtype names
// it: "baseline (F32)") and the FP16 baseline (every linear of the model rounded to F16:
// "baseline (FP16)"), the reference the issue compares quantized runs against.
// Metrics the workbench has not measured stay empty and are drawn as "not measured".
// Immutable once built; shared as std::shared_ptr<const RunRecord>.
//
// Identity: a quantized run's `number` ("run 3") is given by the Workspace when the run is
// added, one more than the largest number it holds, so a cancelled or failed job uses none and
// every view (table, charts, legends, Pareto labels, Compare) shows the same number; the
// session stores it (metric run_number) and a reopened session keeps it. `id` is an internal
// key only, never shown. The user may give a quantized run a name (an undoable rename); the
// title then reads "run 3 · <name>" instead of "run 3 · <scheme>".

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/eval/kl_divergence.h"
#include "core/eval/perplexity.h"
#include "core/model/llama_model.h"
#include "core/quant/pipeline.h"
#include "core/store/run_protocol.h"

namespace qb::ui {

/// What a run is: a quantized model, or one of the two unquantized references.
enum class RunKind {
    Quantized,     ///< a plan applied to the model
    Baseline,      ///< the model as loaded (e.g. F32)
    Fp16Baseline,  ///< the model's linears (and lm_head) rounded to F16 — the FP16 reference
};

struct RunRecord {
    int id = 0;                 ///< internal key, unique within a workspace; never shown to the user
    int number = 0;             ///< quantized runs: the N of "run N" (1, 2, …); 0 for the baselines
    std::string name;           ///< the title, runTitle(*this): "baseline (F32)", "run 3 · gptq w4 g128", "run 3 · my name"
    std::string scheme;         ///< quantized runs: the plan in short, "gptq w4 g128 + 2 rules"
    std::string customName;     ///< the user's name for a quantized run; empty = none (the scheme shows)
    RunKind kind = RunKind::Quantized;
    std::string precision;      ///< baselines: "F32" (the loaded dtype), "FP16"; empty for quantized runs
    std::string planJson;       ///< the plan as the CLI reads it; empty for the baselines
    double bitsPerWeight = 0.0;       ///< over the decoder layers' linear modules
    std::uint64_t linearBytes = 0;    ///< storage bytes of those modules
    double quantizeSeconds = 0.0;
    std::optional<core::PerplexityResult> perplexity;
    std::vector<core::ModuleReport> modules;  ///< per-module relative output error (quantized runs)
    std::optional<double> decodeMsPerToken;        ///< median greedy KV-cache step, from the benchmark job; empty = not measured
    std::optional<double> prefillTokensPerSecond;  ///< prompt tokens per second of the prefill, idem
    int benchPromptTokens = 0;  ///< the benchmark's prompt length (0 = not measured)
    int benchGenTokens = 0;     ///< tokens it generated
    std::vector<std::string> notes;
    /// Which texts the run used and how (issue 20): name ("calib.txt", "my-texts/ (3 files)"),
    /// SHA-256 of the bytes read and the calibration protocol. Empty/0 when unknown (old sessions);
    /// the baselines have no calibration.
    std::string calibrationText;
    std::string calibrationSha256;
    std::string calibrationPath;  ///< as chosen (file or folder), for the duplicate-run check
    int calibrationWindows = 0;
    int calibrationCtx = 0;
    std::uint64_t calibrationSeed = 0;
    std::string evaluationText;
    std::string evaluationSha256;
    /// How the figures were measured (issue 13), as a session stores it; kept through a reopen
    /// and a save. The workbench's runs and those appended by quantbench-cli --session carry
    /// one; runs of older sessions do not (empty).
    std::optional<core::Protocol> protocol;
    /// KL(FP16‖run) over the evaluation windows (core::evaluateAgainstBaseline against the FP16
    /// baseline): the quantized runs and the model as loaded; empty for the FP16 baseline itself
    /// and runs of older sessions.
    std::optional<core::KldStatistics> kld;
    /// KLD_t per scored position, window by window (perplexity->ctx − 1 each), nats, and the
    /// token id each position predicted (same length); empty when not kept (CLI runs).
    std::vector<float> tokenKld;
    std::vector<std::int32_t> tokenKldTargets;
    /// quantbench-cli runs: the command that made the run ("eval", "quantize", "bench") and the
    /// model folder its figures are of; empty for the workbench's runs.
    std::string command;
    std::string modelPath;
    /// The quantized model, while the session is open (not stored in a session file). Empty for
    /// the baselines (the workspace holds the loaded model; the FP16 one is rebuilt when needed).
    std::shared_ptr<const core::LlamaModel> model;

    [[nodiscard]] bool isBaseline() const { return kind != RunKind::Quantized; }
    [[nodiscard]] bool hasCalibration() const { return !calibrationText.empty(); }
    [[nodiscard]] bool measured() const { return decodeMsPerToken && prefillTokensPerSecond; }
    /// Scored positions per window of tokenKld (ctx − 1); 0 when the run kept no per-token KLD.
    [[nodiscard]] int tokenKldWindowLength() const {
        return tokenKld.empty() || !perplexity || perplexity->ctx < 2 ? 0 : perplexity->ctx - 1;
    }
    /// Windows tokenKld covers.
    [[nodiscard]] int tokenKldWindows() const {
        const int n = tokenKldWindowLength();
        return n == 0 ? 0 : int(tokenKld.size()) / n;
    }
};

using RunPtr = std::shared_ptr<const RunRecord>;

/// "baseline (F32)" — the name of a baseline run of that precision.
[[nodiscard]] inline std::string baselineRunName(const std::string& precision) { return "baseline (" + precision + ")"; }

/// The title every view shows: "baseline (F32)", "run 3 · rtn w4 g128", "run 3 · my name".
[[nodiscard]] inline std::string runTitle(const RunRecord& run) {
    if (run.isBaseline()) return baselineRunName(run.precision.empty() ? std::string("F32") : run.precision);
    const std::string rest = run.customName.empty() ? run.scheme : run.customName;
    return "run " + std::to_string(run.number) + (rest.empty() ? std::string() : " · " + rest);
}

}  // namespace qb::ui

namespace qb::ui {

/// "calib.txt (sha256 1a2b3c4d5e6f), 32 windows × 512 tokens, seed 0" — the calibration
/// protocol of a quantized run; empty when the run has none.
[[nodiscard]] std::string calibrationProtocol(const RunRecord& run);
/// "eval.txt (sha256 …), ctx 512, 32 windows" — what the perplexity was measured on.
[[nodiscard]] std::string evaluationProtocol(const RunRecord& run);
/// Why the figures of a and b are not directly comparable, one line each: core::compareProtocols
/// of their protocols (eval text, ctx, windows, …, environment), or a line naming the run that
/// recorded none (older sessions). Empty when both protocols are recorded and agree.
[[nodiscard]] std::vector<std::string> protocolDifferences(const RunRecord& a, const RunRecord& b);

}  // namespace qb::ui

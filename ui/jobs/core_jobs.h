#pragma once
// The work functions of the workbench's jobs: each calls one core function on a job thread and
// returns an immutable result. No Qt widgets here; every function throws core::Error with the
// core's message (Job turns it into "error: ...").

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/quant/plan.h"
#include "ui/jobs/job.h"
#include "ui/models/loaded_model.h"
#include "ui/models/model_stats.h"
#include "ui/models/run_record.h"

namespace qb::ui {

/// Perplexity settings of Evaluate and Quantize jobs (core::PerplexityOptions on a text file).
struct EvaluateSettings {
    std::filesystem::path textFile;       ///< eval.txt
    int ctx = 512;                        ///< window length in tokens
    std::optional<int> maxWindows = 32;   ///< score only the first N windows (empty = all)
};

/// Calibration settings of Inspect and Quantize jobs (core::CalibrationOptions on a text file).
struct CalibrationSettings {
    std::filesystem::path textFile;  ///< calib.txt
    int windows = 32;
    int ctx = 512;
    std::uint64_t seed = 0;
};

/// Result: LoadedModel. Opens a checkpoint folder.
[[nodiscard]] JobWork loadModelWork(std::filesystem::path dir);

/// The two reference runs of "Evaluate baseline".
struct BaselineRuns {
    RunRecord asLoaded;  ///< RunKind::Baseline, "baseline (F32)": the model as loaded
    RunRecord fp16;      ///< RunKind::Fp16Baseline, "baseline (FP16)": core::toFp16Model of it
};

/// Result: BaselineRuns — the perplexity of the model as loaded, then of its FP16 version
/// (built in memory on the job thread and dropped after the evaluation).
[[nodiscard]] JobWork evaluateBaselineWork(std::shared_ptr<const LoadedModel> model, EvaluateSettings settings);

/// "F32", "BF16": the precision label of the model as loaded (its first module's dtype, upper case).
[[nodiscard]] std::string loadedPrecision(const LoadedModel& model);

/// Where a Quantize job keeps its durable per-layer state (core::QuantizeResumeState), so that a
/// job the workbench did not see end (a crash, a kill) can be resumed at the next start.
struct QuantizeStateSettings {
    std::filesystem::path folder;  ///< empty: no state (a model without a checkpoint folder has none either)
    bool resume = false;           ///< continue from the layers folder holds (its fingerprint must match)
};

/// Result: RunRecord — quantizes a copy of the model with plan (core::quantizeModel on the
/// calibration windows), then evaluates it. scheme is the plan in short ("rtn w4 g128"); the
/// run's number and title are given when the workspace adds it. With state.folder, every
/// finished layer is written there and the folder is removed once the model is quantized.
[[nodiscard]] JobWork quantizeWork(std::shared_ptr<const LoadedModel> model, core::QuantPlan plan,
                                   CalibrationSettings calibration, EvaluateSettings evaluation, std::string scheme,
                                   QuantizeStateSettings state = {});

/// Result: ModelStats — core::inspectModel over calibration windows of the calibration text,
/// with the session provenance when the model came from a checkpoint.
[[nodiscard]] JobWork inspectWork(std::shared_ptr<const LoadedModel> model, CalibrationSettings calibration);

/// Result: ModelStats — the weight statistics of every linear module (core::computeWeightStats
/// of W [out, in], layer by layer: progress and cancel per layer), no calibration needed. What
/// the workbench shows as soon as a model opens; Inspect later replaces it with the full set.
[[nodiscard]] JobWork weightStatsWork(std::shared_ptr<const LoadedModel> model);

/// Storage bytes and weight count of the decoder layers' linear modules of model as it is.
struct LinearFootprint {
    std::uint64_t bytes = 0;
    std::uint64_t weights = 0;
};
[[nodiscard]] LinearFootprint linearFootprint(const core::LlamaModel& model);

}  // namespace qb::ui

#pragma once
// inspectModel — weight statistics, input-activation statistics and RTN sensitivity of every
// linear module of a Llama-family model, over calibration windows.
//
// The model is streamed layer by layer: the hidden state of all windows ([windows × ctx,
// hidden], float) is kept, and decoder layer i runs over it in batches of a few windows with an ActivationTap that feeds the statistics; then the layer's weights are read
// (Linear::denseWeight) and released before layer i+1 is loaded. Peak memory ≈ the hidden
// state + one layer's weights + per input: the activation accumulators (ActivationStats:
// ~5 KiB per channel) and, with sensitivity, the inputs X [tokens, in] in float while tokens ≤ in,
// else their Gram matrix [in, in] in double (SensitivityInputs). Each module's statistics go to
// a sink as soon as they are done, so a caller that writes them out (the CLI streams them to the
// session file) holds none of them.
//
// Modules that read the same input share their activation statistics and Gram matrix
// (q/k/v read RMSNorm₁(x), gate/up read RMSNorm₂(h); decoder_layer.h): the tap collects them
// once, for q_proj and gate_proj, and ModuleStats::activation points to one shared object.

#include <functional>
#include <vector>

#include "core/calib/calibration.h"
#include "core/model/llama_model.h"
#include "core/stats/module_stats.h"
#include "core/util/run_context.h"

namespace qb::core {

struct InspectOptions {
    WeightStatsOptions weight;
    ActivationStatsOptions activation;
    SensitivityOptions sensitivity;
    bool computeSensitivity = true;  ///< off: no inputs or Gram matrices kept, empty sensitivity tables
    /// Windows per forward batch, >= 0; 0 = as many as keep the widest activation of a batch
    /// ([windows × ctx, max(hidden, intermediate)] floats) within batchBudgetBytes, at least one.
    int batchWindows = 0;
    std::size_t batchBudgetBytes = std::size_t(16) << 20;
};

struct InspectResult {
    /// Forward order: layer 0 q, k, v, o, gate, up, down; layer 1 ...
    std::vector<ModuleStats> modules;
    int windows = 0;  ///< calibration windows the activations came from
    int ctx = 0;      ///< tokens per window
};

/// Receives each module's statistics once its layer is done, in forward order.
using ModuleStatsSink = std::function<void(ModuleStats&& module)>;

/// Inspects every linear module of model on calibration and hands each module's statistics to
/// sink as soon as they are done (nothing is kept). Errors and progress as below; an exception
/// thrown by sink stops the inspection and is passed on.
void inspectModel(const LlamaModel& model, const CalibrationSet& calibration, const InspectOptions& options,
                  const ModuleStatsSink& sink, const RunContext& ctx = {});

/// Inspects every linear module of model on calibration (tokens: windows × ctx). Progress is
/// reported per batch and per layer; ctx.throwIfStopped() is polled per batch (throws
/// Cancelled). Throws Error for an empty or inconsistent calibration set or invalid options,
/// and passes on model errors with "inspect: layer i: " in front.
[[nodiscard]] InspectResult inspectModel(const LlamaModel& model, const CalibrationSet& calibration,
                                         const InspectOptions& options = {}, const RunContext& ctx = {});

}  // namespace qb::core

#pragma once
// trainLayerLwc — OmniQuant's block-wise training of the learnable weight clipping for one
// decoder layer (Shao et al., ICLR 2024, §3.1, eq. 1, and Alg. 1 of the official code):
//
//   min_{a,b}  ‖ F(W, X_fp) − F(Q(W; a, b), X_q) ‖²      (mean over the block output)
//
// F is the decoder block (block_forward.h), X_fp the full-precision model's input of this
// layer and F(W, X_fp) its full-precision output (the targets), X_q the input the already
// quantized layers produce, Q the LWC fake quantization (lwc.h). With augLoss (the official
// --aug_loss) the loss adds ‖F(W, X_q) − F(Q(W), X_q)‖², the FP layer on the same inputs. One calibration window per
// step, the windows in order, `epochs` passes; AdamW without weight decay (adamw.h). After
// training the clipping is folded and each trained module quantized (lwcQuantize).
//
// Modules without a grid here keep their float weights during training (a plan may give the
// layer's other modules other methods; the pipeline quantizes those afterwards).

#include <array>
#include <optional>
#include <vector>

#include "core/io/model_config.h"
#include "core/model/decoder_layer.h"
#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/util/run_context.h"

namespace qb::core::omniquant {

struct LwcLayerResult {
    std::array<std::optional<QuantizedWeight>, 7> weights;  ///< by ModuleKind, for every trained module
    std::vector<double> epochLoss;   ///< mean block MSE of the steps of each epoch (the official code's log)
    double seconds = 0.0;
};

/// grids[k]: the weight grid of module k if LWC trains it, else nothing. quantInputs,
/// fpTargets: [windows·T, hidden]. Progress per epoch (stage "layer i: LWC epoch e/E, loss …"),
/// cancel polled every step (throws Cancelled). Throws Error when no module is trained or
/// the shapes disagree.
[[nodiscard]] LwcLayerResult trainLayerLwc(const ModelConfig& config, const DecoderLayer& layer,
                                           const std::array<std::optional<WeightGridSpec>, 7>& grids,
                                           const MatrixRM& quantInputs, const MatrixRM& fpTargets, Index T,
                                           const OmniQuantOptions& options, const RunContext& ctx);

}  // namespace qb::core::omniquant

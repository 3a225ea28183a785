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
//
// Weight-activation schemes (W4A4, W6A6, W4A8; §3.3): every linear reads its input quantized
// per token at actBits (token_quant.h), and LET (let.h) learns the channel scales of the pairs
// asked for, jointly with the clipping: one AdamW for the scales (lr_let, the official --let_lr
// 5e-3), initialised from the full-precision inputs' channel maxima (fpInputs). Each step
// applies the scales to the float weights, clips and quantizes W̃, and back-propagates through
// both (lwcWeightBackward, letBackward).

#include <array>
#include <string>
#include <optional>
#include <vector>

#include "core/io/model_config.h"
#include "core/model/decoder_layer.h"
#include "core/quant/omniquant/let.h"
#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/util/run_context.h"

namespace qb::core::omniquant {

struct LwcLayerResult {
    std::array<std::optional<QuantizedWeight>, 7> weights;  ///< by ModuleKind, for every trained module (of W̃ with LET)
    std::optional<LetScales<float>> let;  ///< the learned scales, to fold into the layer (foldLet) before its other modules
    std::vector<double> epochLoss;   ///< mean block MSE of the steps of each epoch (the official code's log)
    double seconds = 0.0;
};

/// What one layer's training learns.
struct OmniQuantLayerSpec {
    std::array<std::optional<WeightGridSpec>, 7> grids;  ///< LWC of module k, or nothing
    int actBits = 0;  ///< per-token activation bits of every linear's input; 0 = weight-only
    bool letQkv = false, letFc1 = false, letOut = false;  ///< the LET pairs learned (let.h)
};

/// "LWC+LET", "LWC", "LET" or "RTN (nothing learned)": what a layer's training learns, for logs.
[[nodiscard]] std::string omniQuantTrainingName(bool lwc, bool let);

/// trainLayerLwc with activations and LET: fpInputs [windows·T, hidden], the full-precision
/// model's input of this layer, initialises the LET scales (unused without LET).
[[nodiscard]] LwcLayerResult trainLayerOmniQuant(const ModelConfig& config, const DecoderLayer& layer,
                                                 const OmniQuantLayerSpec& spec, const MatrixRM& quantInputs,
                                                 const MatrixRM& fpInputs, const MatrixRM& fpTargets, Index T,
                                                 const OmniQuantOptions& options, const RunContext& ctx);

/// grids[k]: the weight grid of module k if LWC trains it, else nothing. quantInputs,
/// fpTargets: [windows·T, hidden]. Progress per epoch (stage "layer i: LWC epoch e/E, loss …"),
/// cancel polled every step (throws Cancelled). Throws Error when no module is trained or
/// the shapes disagree.
[[nodiscard]] LwcLayerResult trainLayerLwc(const ModelConfig& config, const DecoderLayer& layer,
                                           const std::array<std::optional<WeightGridSpec>, 7>& grids,
                                           const MatrixRM& quantInputs, const MatrixRM& fpTargets, Index T,
                                           const OmniQuantOptions& options, const RunContext& ctx);

}  // namespace qb::core::omniquant

#pragma once
// Learnable equivalent transformation (LET), OmniQuant (Shao et al., ICLR 2024), §3.3, eqs. (3)–(5),
// for the Llama-family block, as the official code applies it to LLaMA (omniquant.py:
// `use_shift = False` "for llama model", so X̃ = X ⊘ s and no bias appears; models/transformation.py):
//
//   qkv  g₁ ← g₁ ⊘ s_qkv              W_{q,k,v} ← W ⊙ s_qkvᵀ   (columns)     smooth_ln_fcs
//   fc1  g₂ ← g₂ ⊘ s_fc1              W_{gate,up} ← W ⊙ s_fc1ᵀ                smooth_ln_fcs
//   out  W_v ← diag(s_out)⁻¹·W_v, b_v ← b_v ⊘ s_out,   W_o ← W_o ⊙ s̄_outᵀ     smooth_fc_fc
//
// Each is exact in float: RMSNorm's gain scales its output's channels, and a = P·v is linear in
// each channel of v, so channel (h, c) of a is divided by s_out(⌊h/G⌋, c). s_out has one entry
// per channel of v ([Hkv·d]); s̄_out repeats it over the G = H/Hkv query heads that share a kv
// head (the official code needs H = Hkv; this form is the same there and exact under GQA).
// The quantizers then see W̃ (weights, lwc.h) and X̃ (activations, token_quant.h); training
// learns s by the block loss (lwc_trainer.h). Initialisation, as the official code:
//   s = max(act^α / max_rows|W|^(1−α), 1e-5),   α = 0.5 (--alpha)
// with act the full-precision input's per-channel max |x| and W the weight of q_proj (qkv),
// up_proj (fc1) or o_proj (out); for out both are reduced over the heads sharing a kv channel.
// Not learned here: the qkt scale (q ⊘ s, k ⊙ s), which acts only through a quantized q·kᵀ —
// attention's matmuls stay float in this project — and down_proj, which LLaMA's LET leaves alone.

#include "core/model/decoder_layer.h"
#include "core/quant/omniquant/attention_grad.h"
#include "core/quant/omniquant/block_forward.h"

namespace qb::core::omniquant {

/// The scales of one layer; an empty vector is a pair that is not learned (scale 1).
template <class S>
struct LetScales {
    VectorS<S> qkv;  ///< [D]
    VectorS<S> fc1;  ///< [D]
    VectorS<S> out;  ///< [Hkv·d]
};

/// Per-channel max |x| of the full-precision inputs of one layer: xn₁ [D], a [H·d], xn₂ [D].
template <class S>
struct LetActivationMax {
    VectorS<S> qkv, out, fc1;
};

/// The official initialisation (header comment) for the pairs asked for.
template <class S>
[[nodiscard]] LetScales<S> initialLetScales(const BlockWeights<S>& fp, const AttentionShape& shape,
                                            const LetActivationMax<S>& act, double alpha, bool qkv, bool fc1, bool out);

/// The block's weights after the transformation: norms, W̃ and b̃ (float, not quantized).
template <class S>
[[nodiscard]] BlockWeights<S> applyLet(const BlockWeights<S>& fp, const LetScales<S>& scales, const AttentionShape& shape);

/// ∂L/∂s from the gradients with respect to applyLet()'s outputs: dW[k] = ∂L/∂W̃_k [out, in]
/// (all seven), dBiasV = ∂L/∂b̃_v (empty without a v bias), dNorm1/dNorm2 = ∂L/∂g̃₁, ∂L/∂g̃₂.
template <class S>
[[nodiscard]] LetScales<S> letBackward(const BlockWeights<S>& fp, const LetScales<S>& scales, const AttentionShape& shape,
                                       const std::array<MatrixS<S>, 7>& dW, const VectorS<S>& dBiasV, const VectorS<S>& dNorm1,
                                       const VectorS<S>& dNorm2);

/// The official code's truncate_number before every step: |s| < 1e-2 becomes ±1e-2 (0 → 1e-2).
template <class S>
void truncateLetScales(LetScales<S>& scales);

/// Folds the scales into layer: its norm gains and every linear (as float DenseLinear), the
/// float model the learned clipping and the other methods then quantize.
void foldLet(DecoderLayer& layer, const LetScales<float>& scales, const AttentionShape& shape);

}  // namespace qb::core::omniquant

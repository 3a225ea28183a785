#pragma once
// The decoder block's forward pass for OmniQuant's training: the same function as
// core/model/decoder_layer.h's runDecoderLayer, written on plain matrices of scalar type S and
// keeping every intermediate its backward (block_backward.h) reads.
//
//   xn₁ = RMSNorm₁(x)                                  x: [n, D], n = windows·T
//   q = RoPE(xn₁·Ŵ_qᵀ), k = RoPE(xn₁·Ŵ_kᵀ), v = xn₁·Ŵ_vᵀ   (Qwen3: per-head RMSNorm before RoPE)
//   a = Attention(q, k, v)                             causal GQA, attention_grad.h
//   h = x + a·Ŵ_oᵀ
//   xn₂ = RMSNorm₂(h), g = xn₂·Ŵ_gateᵀ, u = xn₂·Ŵ_upᵀ
//   m = silu(g) ⊙ u                                    (SwiGLU, Shazeer 2020, eq. 6)
//   y = h + m·Ŵ_downᵀ
// Ŵ are whatever weights the caller puts in BlockWeights: the float weights for the
// full-precision target, the fake-quantized ones (lwc.h) while training. With actBits (the
// weight-activation schemes) every linear reads its input fake-quantized per token,
// Q_a(xn₁), Q_a(a), Q_a(xn₂), Q_a(m) (token_quant.h); attention's q·kᵀ and P·v stay float.

#include <array>
#include <optional>
#include <vector>

#include "core/io/model_config.h"
#include "core/model/decoder_layer.h"
#include "core/quant/omniquant/attention_grad.h"
#include "core/quant/omniquant/rope_grad.h"
#include "core/quant/omniquant/train_math.h"
#include "core/quant/token_quant.h"

namespace qb::core::omniquant {

/// The block's parameters in scalar type S. W and bias are indexed by ModuleKind.
template <class S>
struct BlockWeights {
    VectorS<S> inputNorm;          ///< g₁ [D]
    VectorS<S> postAttentionNorm;  ///< g₂ [D]
    VectorS<S> qNorm, kNorm;       ///< [d] (Qwen3) or empty
    std::array<MatrixS<S>, 7> W;   ///< [out, in] each
    std::array<std::optional<VectorS<S>>, 7> bias;  ///< [out] or none

    [[nodiscard]] const MatrixS<S>& weight(ModuleKind k) const { return W[std::size_t(k)]; }
    [[nodiscard]] MatrixS<S>& weight(ModuleKind k) { return W[std::size_t(k)]; }
};

/// The float weights of layer (denseWeight() of each linear), converted to S.
template <class S>
[[nodiscard]] BlockWeights<S> blockWeightsOf(const DecoderLayer& layer);

/// What the forward depends on besides the weights: attention shape, ε, RoPE table.
template <class S>
struct BlockShape {
    AttentionShape attention;
    double rmsNormEps = 1e-6;
    RopeTable<S> rope;  ///< [T, d/2]
    int actBits = 0;    ///< per-token activation bits of every linear's input; 0 = float inputs
};

/// The block shape of layer `layerIndex` of config for windows of T tokens.
template <class S>
[[nodiscard]] BlockShape<S> blockShapeOf(const ModelConfig& config, int layerIndex, Index T);

/// Intermediates of one forward, in the symbols of the header comment. Shapes for n rows.
template <class S>
struct BlockCache {
    MatrixS<S> x;                 ///< [n, D] input
    VectorS<S> rstd1, rstd2;      ///< r of RMSNorm₁ / RMSNorm₂, [n]
    MatrixS<S> xn1, xn2;          ///< [n, D]
    MatrixS<S> qLin, kLin;        ///< q, k before the per-head norm (Qwen3 only), [n, H·d], [n, Hkv·d]
    VectorS<S> rstdQ, rstdK;      ///< the per-head norms' r, [n·H], [n·Hkv] (Qwen3 only)
    MatrixS<S> q, k, v;           ///< after RoPE, [n, H·d], [n, Hkv·d], [n, Hkv·d]
    std::vector<MatrixS<S>> P;    ///< softmax probabilities, [T, T] per (window, head)
    MatrixS<S> a;                 ///< attention output, [n, H·d]
    MatrixS<S> h;                 ///< [n, D] after the attention residual
    MatrixS<S> gate, up;          ///< [n, I] before the activation
    MatrixS<S> m;                 ///< [n, I] silu(g) ⊙ u
    // With actBits: the linears' inputs as they read them, and the token quantizers' decisions.
    MatrixS<S> xq1, aq, xq2, mq;  ///< Q_a(xn₁), Q_a(a), Q_a(xn₂), Q_a(m); empty without actBits
    TokenRounding<S> rq1, rqa, rq2, rqm;

    /// The input linear group reads: xq1 or xn1 (…) depending on actBits.
    [[nodiscard]] const MatrixS<S>& in1() const { return xq1.size() ? xq1 : xn1; }
    [[nodiscard]] const MatrixS<S>& inO() const { return aq.size() ? aq : a; }
    [[nodiscard]] const MatrixS<S>& in2() const { return xq2.size() ? xq2 : xn2; }
    [[nodiscard]] const MatrixS<S>& inDown() const { return mq.size() ? mq : m; }
    /// Takes the token quantizers' decisions of another forward (for blockForward's frozenActs).
    void takeActivationRounding(const BlockCache& from) {
        rq1 = from.rq1;
        rqa = from.rqa;
        rq2 = from.rq2;
        rqm = from.rqm;
    }
};

/// y [n, D] for x [n, D] (n a multiple of T); cache receives the intermediates. frozenActs:
/// the token quantizers replay the decisions already in cache (the gradient checks' surrogate).
template <class S>
[[nodiscard]] MatrixS<S> blockForward(const BlockShape<S>& shape, const BlockWeights<S>& weights, const MatrixS<S>& x,
                                      BlockCache<S>& cache, bool frozenActs = false);

}  // namespace qb::core::omniquant

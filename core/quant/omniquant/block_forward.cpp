#include "core/quant/omniquant/block_forward.h"

#include "core/model/rope.h"
#include "core/quant/omniquant/rms_norm_grad.h"
#include "core/util/error.h"

namespace qb::core::omniquant {

template <class S>
BlockWeights<S> blockWeightsOf(const DecoderLayer& layer) {
    BlockWeights<S> w;
    w.inputNorm = layer.inputNorm.cast<S>();
    w.postAttentionNorm = layer.postAttentionNorm.cast<S>();
    w.qNorm = layer.qNorm.cast<S>();
    w.kNorm = layer.kNorm.cast<S>();
    for (ModuleKind k : kAllModuleKinds) {
        const auto& linear = layer.linear(k);
        w.weight(k) = linear->denseWeight().cast<S>();
        if (linear->bias()) w.bias[std::size_t(k)] = linear->bias()->cast<S>();
    }
    return w;
}

template <class S>
BlockShape<S> blockShapeOf(const ModelConfig& c, int layerIndex, Index T) {
    BlockShape<S> s;
    s.attention = {c.numHeads, c.numKvHeads, c.headDim, T, c.windowOfLayer(layerIndex)};
    s.rmsNormEps = c.rmsNormEps;
    s.rope = ropeTable<S>(ropeFrequencies(c, T), T);
    return s;
}

namespace {

// Y = X·Wᵀ + bias.
template <class S>
MatrixS<S> linearForward(const MatrixS<S>& X, const MatrixS<S>& W, const std::optional<VectorS<S>>& bias) {
    MatrixS<S> Y = matmulNT(X, W);
    if (bias) Y.rowwise() += bias->transpose();
    return Y;
}

// Q_a(in) into q with the decisions in rd (recorded, or replayed when frozen); nothing without actBits.
template <class S>
void quantizeInput(int actBits, const MatrixS<S>& in, MatrixS<S>& q, TokenRounding<S>& rd, bool frozen) {
    if (actBits == 0) {
        q.resize(0, 0);
        return;
    }
    q = tokenFakeQuantize<S>(in, actBits, &rd, frozen);
}

}  // namespace

template <class S>
MatrixS<S> blockForward(const BlockShape<S>& s, const BlockWeights<S>& w, const MatrixS<S>& x, BlockCache<S>& c, bool frozen) {
    const AttentionShape& as = s.attention;
    if (x.rows() % as.T != 0) throw Error("omniquant: the block input is not whole windows");
    const auto bias = [&](ModuleKind k) -> const std::optional<VectorS<S>>& { return w.bias[std::size_t(k)]; };
    c.x = x;
    // xn₁ = RMSNorm₁(x)
    rmsNormForward(x, w.inputNorm, s.rmsNormEps, c.xn1, c.rstd1);
    // q, k, v = Q_a(xn₁)·Ŵᵀ (+ b); Qwen3: per-head RMSNorm; then RoPE on q and k
    quantizeInput(s.actBits, c.xn1, c.xq1, c.rq1, frozen);
    c.q = linearForward(c.in1(), w.weight(ModuleKind::Q), bias(ModuleKind::Q));  // [n, H·d]
    c.k = linearForward(c.in1(), w.weight(ModuleKind::K), bias(ModuleKind::K));  // [n, Hkv·d]
    c.v = linearForward(c.in1(), w.weight(ModuleKind::V), bias(ModuleKind::V));  // [n, Hkv·d]
    if (w.qNorm.size() > 0) {
        c.qLin = c.q;
        rmsNormForward(c.qLin, w.qNorm, s.rmsNormEps, c.q, c.rstdQ);
    }
    if (w.kNorm.size() > 0) {
        c.kLin = c.k;
        rmsNormForward(c.kLin, w.kNorm, s.rmsNormEps, c.k, c.rstdK);
    }
    ropeForward(c.q, as.heads, as.headDim, as.T, s.rope);
    ropeForward(c.k, as.kvHeads, as.headDim, as.T, s.rope);
    // a = softmax(q·kᵀ/√d + causal mask)·v
    c.a = attentionForward(as, c.q, c.k, c.v, c.P);
    // h = x + Q_a(a)·Ŵ_oᵀ
    quantizeInput(s.actBits, c.a, c.aq, c.rqa, frozen);
    c.h = x + linearForward(c.inO(), w.weight(ModuleKind::O), bias(ModuleKind::O));
    // xn₂ = RMSNorm₂(h); m = silu(Q_a(xn₂)·Ŵ_gateᵀ) ⊙ (Q_a(xn₂)·Ŵ_upᵀ)
    rmsNormForward(c.h, w.postAttentionNorm, s.rmsNormEps, c.xn2, c.rstd2);
    quantizeInput(s.actBits, c.xn2, c.xq2, c.rq2, frozen);
    c.gate = linearForward(c.in2(), w.weight(ModuleKind::Gate), bias(ModuleKind::Gate));  // [n, I]
    c.up = linearForward(c.in2(), w.weight(ModuleKind::Up), bias(ModuleKind::Up));        // [n, I]
    c.m = (c.gate.array() / (S(1) + (-c.gate.array()).exp()) * c.up.array()).matrix();  // silu(g) = g·σ(g)
    // y = h + Q_a(m)·Ŵ_downᵀ
    quantizeInput(s.actBits, c.m, c.mq, c.rqm, frozen);
    return c.h + linearForward(c.inDown(), w.weight(ModuleKind::Down), bias(ModuleKind::Down));
}

template BlockWeights<float> blockWeightsOf<float>(const DecoderLayer&);
template BlockWeights<double> blockWeightsOf<double>(const DecoderLayer&);
template BlockShape<float> blockShapeOf<float>(const ModelConfig&, int, Index);
template BlockShape<double> blockShapeOf<double>(const ModelConfig&, int, Index);
template MatrixS<float> blockForward<float>(const BlockShape<float>&, const BlockWeights<float>&, const MatrixS<float>&,
                                            BlockCache<float>&, bool);
template MatrixS<double> blockForward<double>(const BlockShape<double>&, const BlockWeights<double>&, const MatrixS<double>&,
                                              BlockCache<double>&, bool);

}  // namespace qb::core::omniquant

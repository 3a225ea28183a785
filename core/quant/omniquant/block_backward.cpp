#include "core/quant/omniquant/block_backward.h"

#include "core/quant/omniquant/rms_norm_grad.h"

namespace qb::core::omniquant {

namespace {

// ∂L/∂in from ∂L/∂Q_a(in): the token quantizer's backward, or the identity without actBits.
template <class S>
MatrixS<S> throughInputQuantizer(int actBits, const TokenRounding<S>& rd, MatrixS<S> dq) {
    return actBits == 0 ? std::move(dq) : tokenFakeQuantizeBackward<S>(rd, dq, actBits);
}

// ∂L/∂g for y = RMSNorm(x; g): Σ_rows ∂y ⊙ x·r.
template <class S>
VectorS<S> normGainGradient(const MatrixS<S>& x, const VectorS<S>& rstd, const MatrixS<S>& dy) {
    return (dy.array() * (x.array().colwise() * rstd.array())).colwise().sum().transpose();
}

}  // namespace

template <class S>
BlockGradients<S> blockBackward(const BlockShape<S>& s, const BlockWeights<S>& w, const BlockCache<S>& c, const MatrixS<S>& dy,
                                const BlockGradientRequest& request) {
    const AttentionShape& as = s.attention;
    BlockGradients<S> grad;
    const auto want = [&](ModuleKind k) { return request.weight[std::size_t(k)]; };
    const auto setDW = [&](ModuleKind k, const MatrixS<S>& dOut, const MatrixS<S>& in) {
        if (!want(k)) return;
        grad.dW[std::size_t(k)] = matmulTN(dOut, in);  // ∂Ŵ = ∂outᵀ·in  [out, in]
        if (w.bias[std::size_t(k)]) grad.dBias[std::size_t(k)] = dOut.colwise().sum().transpose();  // ∂b = Σ_rows ∂out
    };

    // --- MLP: y = h + m·Ŵ_downᵀ
    setDW(ModuleKind::Down, dy, c.inDown());
    const MatrixS<S> dm = throughInputQuantizer(s.actBits, c.rqm, matmulNN(dy, w.weight(ModuleKind::Down)));  // ∂m [n, I]
    // m = silu(g) ⊙ u: ∂u = ∂m ⊙ silu(g); ∂g = ∂m ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g)))
    const auto g = c.gate.array();
    const auto sig = (S(1) / (S(1) + (-g).exp())).eval();
    const MatrixS<S> dUp = (dm.array() * g * sig).matrix();
    const MatrixS<S> dGate = (dm.array() * c.up.array() * sig * (S(1) + g * (S(1) - sig))).matrix();
    setDW(ModuleKind::Gate, dGate, c.in2());
    setDW(ModuleKind::Up, dUp, c.in2());
    MatrixS<S> dxq2 = matmulNN(dGate, w.weight(ModuleKind::Gate));  // ∂xn₂ = Q_a backward of ∂g·Ŵ_gate + ∂u·Ŵ_up
    addMatmulNN(dUp, w.weight(ModuleKind::Up), dxq2);
    const MatrixS<S> dxn2 = throughInputQuantizer(s.actBits, c.rq2, std::move(dxq2));
    if (request.norms) grad.dPostAttentionNorm = normGainGradient(c.h, c.rstd2, dxn2);
    MatrixS<S> dh = dy;  // the residual
    rmsNormBackward(c.h, w.postAttentionNorm, c.rstd2, dxn2, dh, true);

    // --- attention: h = x + a·Ŵ_oᵀ
    setDW(ModuleKind::O, dh, c.inO());
    const MatrixS<S> da = throughInputQuantizer(s.actBits, c.rqa, matmulNN(dh, w.weight(ModuleKind::O)));  // ∂a [n, H·d]
    MatrixS<S> dq, dk, dv;
    attentionBackward(as, c.q, c.k, c.v, c.P, da, dq, dk, dv);
    ropeBackward(dq, as.heads, as.headDim, as.T, s.rope);
    ropeBackward(dk, as.kvHeads, as.headDim, as.T, s.rope);
    if (w.qNorm.size() > 0) {
        MatrixS<S> dqLin;
        rmsNormBackward(c.qLin, w.qNorm, c.rstdQ, dq, dqLin, false);
        dq = std::move(dqLin);
    }
    if (w.kNorm.size() > 0) {
        MatrixS<S> dkLin;
        rmsNormBackward(c.kLin, w.kNorm, c.rstdK, dk, dkLin, false);
        dk = std::move(dkLin);
    }
    setDW(ModuleKind::Q, dq, c.in1());
    setDW(ModuleKind::K, dk, c.in1());
    setDW(ModuleKind::V, dv, c.in1());

    if (request.input || request.norms) {  // ∂xn₁ = Q_a backward of ∂q·Ŵ_q + ∂k·Ŵ_k + ∂v·Ŵ_v
        MatrixS<S> dxq1 = matmulNN(dq, w.weight(ModuleKind::Q));
        addMatmulNN(dk, w.weight(ModuleKind::K), dxq1);
        addMatmulNN(dv, w.weight(ModuleKind::V), dxq1);
        const MatrixS<S> dxn1 = throughInputQuantizer(s.actBits, c.rq1, std::move(dxq1));
        if (request.norms) grad.dInputNorm = normGainGradient(c.x, c.rstd1, dxn1);
        if (request.input) {  // ∂x = ∂h + RMSNorm₁ backward of ∂xn₁
            grad.dx = std::move(dh);
            rmsNormBackward(c.x, w.inputNorm, c.rstd1, dxn1, grad.dx, true);
        }
    }
    return grad;
}

template BlockGradients<float> blockBackward<float>(const BlockShape<float>&, const BlockWeights<float>&,
                                                    const BlockCache<float>&, const MatrixS<float>&, const BlockGradientRequest&);
template BlockGradients<double> blockBackward<double>(const BlockShape<double>&, const BlockWeights<double>&,
                                                      const BlockCache<double>&, const MatrixS<double>&,
                                                      const BlockGradientRequest&);

}  // namespace qb::core::omniquant

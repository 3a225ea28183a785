#include "core/quant/omniquant/block_backward.h"

#include "core/quant/omniquant/rms_norm_grad.h"

namespace qb::core::omniquant {

template <class S>
BlockGradients<S> blockBackward(const BlockShape<S>& s, const BlockWeights<S>& w, const BlockCache<S>& c, const MatrixS<S>& dy,
                                const std::array<bool, 7>& wantWeight, bool wantInput) {
    const AttentionShape& as = s.attention;
    BlockGradients<S> grad;
    const auto want = [&](ModuleKind k) { return wantWeight[std::size_t(k)]; };
    const auto setDW = [&](ModuleKind k, const MatrixS<S>& dOut, const MatrixS<S>& in) {
        if (want(k)) grad.dW[std::size_t(k)] = matmulTN(dOut, in);  // ∂Ŵ = ∂outᵀ·in  [out, in]
    };

    // --- MLP: y = h + m·Ŵ_downᵀ
    setDW(ModuleKind::Down, dy, c.m);
    const MatrixS<S> dm = matmulNN(dy, w.weight(ModuleKind::Down));  // ∂m [n, I]
    // m = silu(g) ⊙ u: ∂u = ∂m ⊙ silu(g); ∂g = ∂m ⊙ u ⊙ σ(g)·(1 + g·(1 − σ(g)))
    const auto g = c.gate.array();
    const auto sig = (S(1) / (S(1) + (-g).exp())).eval();
    const MatrixS<S> dUp = (dm.array() * g * sig).matrix();
    const MatrixS<S> dGate = (dm.array() * c.up.array() * sig * (S(1) + g * (S(1) - sig))).matrix();
    setDW(ModuleKind::Gate, dGate, c.xn2);
    setDW(ModuleKind::Up, dUp, c.xn2);
    MatrixS<S> dxn2 = matmulNN(dGate, w.weight(ModuleKind::Gate));  // ∂xn₂ = ∂g·Ŵ_gate + ∂u·Ŵ_up
    addMatmulNN(dUp, w.weight(ModuleKind::Up), dxn2);
    MatrixS<S> dh = dy;  // the residual
    rmsNormBackward(c.h, w.postAttentionNorm, c.rstd2, dxn2, dh, true);

    // --- attention: h = x + a·Ŵ_oᵀ
    setDW(ModuleKind::O, dh, c.a);
    const MatrixS<S> da = matmulNN(dh, w.weight(ModuleKind::O));  // ∂a [n, H·d]
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
    setDW(ModuleKind::Q, dq, c.xn1);
    setDW(ModuleKind::K, dk, c.xn1);
    setDW(ModuleKind::V, dv, c.xn1);

    if (wantInput) {  // ∂x = ∂h + RMSNorm₁ backward of ∂xn₁ = ∂q·Ŵ_q + ∂k·Ŵ_k + ∂v·Ŵ_v
        MatrixS<S> dxn1 = matmulNN(dq, w.weight(ModuleKind::Q));
        addMatmulNN(dk, w.weight(ModuleKind::K), dxn1);
        addMatmulNN(dv, w.weight(ModuleKind::V), dxn1);
        grad.dx = std::move(dh);
        rmsNormBackward(c.x, w.inputNorm, c.rstd1, dxn1, grad.dx, true);
    }
    return grad;
}

template BlockGradients<float> blockBackward<float>(const BlockShape<float>&, const BlockWeights<float>&,
                                                    const BlockCache<float>&, const MatrixS<float>&,
                                                    const std::array<bool, 7>&, bool);
template BlockGradients<double> blockBackward<double>(const BlockShape<double>&, const BlockWeights<double>&,
                                                      const BlockCache<double>&, const MatrixS<double>&,
                                                      const std::array<bool, 7>&, bool);

}  // namespace qb::core::omniquant

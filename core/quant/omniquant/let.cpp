#include "core/quant/omniquant/let.h"

#include <algorithm>
#include <cmath>

#include "core/util/error.h"

namespace qb::core::omniquant {

namespace {

// Column col of o_proj's input (query head h, channel c) reads v's channel (⌊h/G⌋, c).
Index kvChannel(Index col, const AttentionShape& a) {
    const Index d = a.headDim, group = a.heads / a.kvHeads;
    return (col / d / group) * d + col % d;
}

// s = max(act^α / wmax^(1−α), 1e-5), with wmax clamped to ≥ 1e-5 as the official code.
template <class S>
VectorS<S> smoothScales(const VectorS<S>& act, const VectorS<S>& wmax, double alpha) {
    VectorS<S> s(act.size());
    for (Index j = 0; j < act.size(); ++j)
        s(j) = std::max(S(std::pow(double(std::max(act(j), S(1e-5))), alpha) /
                          std::pow(double(std::max(wmax(j), S(1e-5))), 1.0 - alpha)),
                        S(1e-5));
    return s;
}

}  // namespace

template <class S>
LetScales<S> initialLetScales(const BlockWeights<S>& fp, const AttentionShape& shape, const LetActivationMax<S>& act, double alpha,
                              bool qkv, bool fc1, bool out) {
    LetScales<S> s;
    const auto columnMax = [](const MatrixS<S>& W) -> VectorS<S> { return W.cwiseAbs().colwise().maxCoeff().transpose(); };
    if (qkv) s.qkv = smoothScales<S>(act.qkv, columnMax(fp.weight(ModuleKind::Q)), alpha);
    if (fc1) s.fc1 = smoothScales<S>(act.fc1, columnMax(fp.weight(ModuleKind::Up)), alpha);
    if (out) {
        const VectorS<S> wo = columnMax(fp.weight(ModuleKind::O));  // [H·d]
        const Index kv = Index(shape.kvHeads) * shape.headDim;
        VectorS<S> a = VectorS<S>::Zero(kv), w = VectorS<S>::Zero(kv);
        for (Index col = 0; col < wo.size(); ++col) {
            const Index j = kvChannel(col, shape);
            a(j) = std::max(a(j), act.out(col));
            w(j) = std::max(w(j), wo(col));
        }
        s.out = smoothScales<S>(a, w, alpha);
    }
    return s;
}

template <class S>
BlockWeights<S> applyLet(const BlockWeights<S>& fp, const LetScales<S>& s, const AttentionShape& shape) {
    BlockWeights<S> w = fp;
    if (s.qkv.size()) {
        w.inputNorm = fp.inputNorm.cwiseQuotient(s.qkv);
        for (ModuleKind k : {ModuleKind::Q, ModuleKind::K, ModuleKind::V}) w.weight(k) = fp.weight(k) * s.qkv.asDiagonal();
    }
    if (s.fc1.size()) {
        w.postAttentionNorm = fp.postAttentionNorm.cwiseQuotient(s.fc1);
        for (ModuleKind k : {ModuleKind::Gate, ModuleKind::Up}) w.weight(k) = fp.weight(k) * s.fc1.asDiagonal();
    }
    if (s.out.size()) {
        MatrixS<S>& Wv = w.weight(ModuleKind::V);
        if (Wv.rows() != s.out.size()) throw Error("omniquant: the out scales do not fit v_proj");
        Wv = s.out.cwiseInverse().asDiagonal() * Wv;
        if (auto& b = w.bias[std::size_t(ModuleKind::V)]) *b = b->cwiseQuotient(s.out);
        MatrixS<S>& Wo = w.weight(ModuleKind::O);
        for (Index col = 0; col < Wo.cols(); ++col) Wo.col(col) *= s.out(kvChannel(col, shape));
    }
    return w;
}

template <class S>
LetScales<S> letBackward(const BlockWeights<S>& fp, const LetScales<S>& s, const AttentionShape& shape,
                         const std::array<MatrixS<S>, 7>& dW, const VectorS<S>& dBiasV, const VectorS<S>& dNorm1,
                         const VectorS<S>& dNorm2) {
    LetScales<S> ds;
    const auto dW_of = [&](ModuleKind k) -> const MatrixS<S>& { return dW[std::size_t(k)]; };
    // ∂L/∂s_j of W̃ = W ⊙ sᵀ (columns) and g̃ = g ⊘ s: Σ_i ∂W̃_ij·W_ij − ∂g̃_j·g_j/s_j²
    const auto columnPair = [&](const VectorS<S>& sc, const VectorS<S>& g, const VectorS<S>& dg,
                                std::initializer_list<ModuleKind> kinds, bool vRowsScaled) {
        VectorS<S> d = -(dg.array() * g.array() / sc.array().square()).matrix();
        for (ModuleKind k : kinds) {
            MatrixS<S> W = fp.weight(k);
            if (k == ModuleKind::V && vRowsScaled) W = s.out.cwiseInverse().asDiagonal() * W;  // W̃_v = diag(s_out)⁻¹·W_v·diag(s_qkv)
            d += (dW_of(k).array() * W.array()).colwise().sum().transpose().matrix();
        }
        return d;
    };
    if (s.qkv.size())
        ds.qkv = columnPair(s.qkv, fp.inputNorm, dNorm1, {ModuleKind::Q, ModuleKind::K, ModuleKind::V}, s.out.size() > 0);
    if (s.fc1.size()) ds.fc1 = columnPair(s.fc1, fp.postAttentionNorm, dNorm2, {ModuleKind::Gate, ModuleKind::Up}, false);
    if (s.out.size()) {
        // W̃_v[r, :] = W_v[r, :]·(s_qkv)/s_out[r], b̃_v = b_v/s_out:  −Σ_j ∂W̃_v[r, j]·W̃_v[r, j]/s_out[r] − ∂b̃_v[r]·b̃_v[r]/s_out[r]
        MatrixS<S> Wv = fp.weight(ModuleKind::V);
        if (s.qkv.size()) Wv = Wv * s.qkv.asDiagonal();
        ds.out = -((dW_of(ModuleKind::V).array() * Wv.array()).rowwise().sum() / s.out.array().square()).matrix();
        if (const auto& b = fp.bias[std::size_t(ModuleKind::V)]; b && dBiasV.size())
            ds.out -= (dBiasV.array() * b->array() / s.out.array().square()).matrix();
        // W̃_o[:, col] = W_o[:, col]·s_out[kv(col)]:  Σ_i ∂W̃_o[i, col]·W_o[i, col]
        const VectorS<S> perCol = (dW_of(ModuleKind::O).array() * fp.weight(ModuleKind::O).array()).colwise().sum().transpose();
        for (Index col = 0; col < perCol.size(); ++col) ds.out(kvChannel(col, shape)) += perCol(col);
    }
    return ds;
}

template <class S>
void truncateLetScales(LetScales<S>& s) {
    for (VectorS<S>* v : {&s.qkv, &s.fc1, &s.out})
        for (Index j = 0; j < v->size(); ++j)
            if (std::abs((*v)(j)) < S(1e-2)) (*v)(j) = (*v)(j) < S(0) ? S(-1e-2) : S(1e-2);
}

void foldLet(DecoderLayer& layer, const LetScales<float>& scales, const AttentionShape& shape) {
    const BlockWeights<float> w = applyLet(blockWeightsOf<float>(layer), scales, shape);
    layer.inputNorm = w.inputNorm;
    layer.postAttentionNorm = w.postAttentionNorm;
    for (ModuleKind k : kAllModuleKinds) {
        std::optional<VectorF> bias;
        if (const auto& b = w.bias[std::size_t(k)]) bias = *b;
        layer.linear(k) = std::make_shared<DenseLinear>(MatrixRM(w.weight(k)), std::move(bias));
    }
}

template LetScales<float> initialLetScales<float>(const BlockWeights<float>&, const AttentionShape&, const LetActivationMax<float>&,
                                                  double, bool, bool, bool);
template LetScales<double> initialLetScales<double>(const BlockWeights<double>&, const AttentionShape&,
                                                    const LetActivationMax<double>&, double, bool, bool, bool);
template BlockWeights<float> applyLet<float>(const BlockWeights<float>&, const LetScales<float>&, const AttentionShape&);
template BlockWeights<double> applyLet<double>(const BlockWeights<double>&, const LetScales<double>&, const AttentionShape&);
template LetScales<float> letBackward<float>(const BlockWeights<float>&, const LetScales<float>&, const AttentionShape&,
                                             const std::array<MatrixS<float>, 7>&, const VectorS<float>&, const VectorS<float>&,
                                             const VectorS<float>&);
template LetScales<double> letBackward<double>(const BlockWeights<double>&, const LetScales<double>&, const AttentionShape&,
                                               const std::array<MatrixS<double>, 7>&, const VectorS<double>&,
                                               const VectorS<double>&, const VectorS<double>&);
template void truncateLetScales<float>(LetScales<float>&);
template void truncateLetScales<double>(LetScales<double>&);

}  // namespace qb::core::omniquant

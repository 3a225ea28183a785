#include "core/quant/omniquant/attention_grad.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/backend/backend.h"

namespace qb::core::omniquant {

namespace {

// First key visible from query i: 0, or i − W + 1 under a sliding window W.
Index firstVisible(const AttentionShape& s, Index i) {
    return s.slidingWindow > 0 ? std::max<Index>(0, i - s.slidingWindow + 1) : 0;
}

// Threads for `tasks` independent (window, head) problems of T² · d multiply-adds each: one
// when the work is too small to pay for a parallel region (as core/model/attention.cpp).
int threadsFor(Index tasks, const AttentionShape& s) {
    constexpr double kMinParallelWork = 1 << 20;
    const double work = double(tasks) * double(s.T) * double(s.T) * double(s.headDim);
    return work < kMinParallelWork ? 1 : std::max(1, std::min<int>(threadCount(), int(tasks)));
}

}  // namespace

template <class S>
MatrixS<S> attentionForward(const AttentionShape& s, const MatrixS<S>& q, const MatrixS<S>& k, const MatrixS<S>& v,
                            std::vector<MatrixS<S>>& P) {
    const Index T = s.T, d = s.headDim, windows = q.rows() / T;
    const int group = s.heads / s.kvHeads;
    const S scale = S(1) / std::sqrt(S(d));
    MatrixS<S> O(q.rows(), Index(s.heads) * d);
    P.assign(std::size_t(windows * s.heads), MatrixS<S>());
    const Index tasks = windows * s.heads;
#pragma omp parallel for num_threads(threadsFor(tasks, s)) schedule(dynamic, 1)
    for (Index task = 0; task < tasks; ++task) {
        const Index w = task / s.heads, base = w * T;
        const int h = int(task % s.heads), g = h / group;
        MatrixS<S>& Pw = P[std::size_t(task)];
        Pw.resize(T, T);
        // S = Q·Kᵀ/√d  [T, T]
        gemm<S>(false, true, scale, block(q, base, Index(h) * d, T, d), block(k, base, Index(g) * d, T, d), S(0), view(Pw));
        for (Index i = 0; i < T; ++i) {  // P = softmax(S) over the visible keys of row i
            const Index lo = firstVisible(s, i);
            auto row = Pw.row(i).segment(lo, i + 1 - lo).array();
            row = (row - row.maxCoeff()).exp();
            row /= row.sum();
            Pw.row(i).head(lo).setZero();
            Pw.row(i).tail(T - i - 1).setZero();
        }
        // O = P·V  [T, d]
        gemm<S>(false, false, S(1), view(std::as_const(Pw)), block(v, base, Index(g) * d, T, d), S(0),
                block(O, base, Index(h) * d, T, d));
    }
    return O;
}

template <class S>
void attentionBackward(const AttentionShape& s, const MatrixS<S>& q, const MatrixS<S>& k, const MatrixS<S>& v,
                       const std::vector<MatrixS<S>>& P, const MatrixS<S>& dO, MatrixS<S>& dq, MatrixS<S>& dk, MatrixS<S>& dv) {
    const Index T = s.T, d = s.headDim, windows = q.rows() / T;
    const int group = s.heads / s.kvHeads;
    const S scale = S(1) / std::sqrt(S(d));
    dq.setZero(q.rows(), q.cols());
    dk.setZero(k.rows(), k.cols());
    dv.setZero(v.rows(), v.cols());
    // One task per (window, kv head): it owns ∂K_g and ∂V_g and sums over its query heads.
    const Index tasks = windows * s.kvHeads;
#pragma omp parallel for num_threads(threadsFor(tasks * group, s)) schedule(dynamic, 1)
    for (Index task = 0; task < tasks; ++task) {
        const Index w = task / s.kvHeads, base = w * T;
        const int g = int(task % s.kvHeads);
        MatrixS<S> dS(T, T);  // ∂P, then ∂S in place
        for (int h = g * group; h < (g + 1) * group; ++h) {
            const MatrixS<S>& Pw = P[std::size_t(w * s.heads + h)];
            const auto dOh = block(dO, base, Index(h) * d, T, d);
            // ∂V += Pᵀ·∂O
            gemm<S>(true, false, S(1), view(Pw), dOh, S(1), block(dv, base, Index(g) * d, T, d));
            // ∂P = ∂O·Vᵀ
            gemm<S>(false, true, S(1), dOh, block(v, base, Index(g) * d, T, d), S(0), view(dS));
            // ∂S = P ⊙ (∂P − rowsum(∂P ⊙ P)); masked entries have P = 0, so ∂S = 0 there
            for (Index i = 0; i < T; ++i) {
                const S rowDot = dS.row(i).dot(Pw.row(i));
                dS.row(i) = Pw.row(i).cwiseProduct((dS.row(i).array() - rowDot).matrix());
            }
            // ∂Q = ∂S·K/√d,  ∂K += ∂Sᵀ·Q/√d
            gemm<S>(false, false, scale, view(std::as_const(dS)), block(k, base, Index(g) * d, T, d), S(0),
                    block(dq, base, Index(h) * d, T, d));
            gemm<S>(true, false, scale, view(std::as_const(dS)), block(q, base, Index(h) * d, T, d), S(1),
                    block(dk, base, Index(g) * d, T, d));
        }
    }
}

template MatrixS<float> attentionForward<float>(const AttentionShape&, const MatrixS<float>&, const MatrixS<float>&,
                                                const MatrixS<float>&, std::vector<MatrixS<float>>&);
template MatrixS<double> attentionForward<double>(const AttentionShape&, const MatrixS<double>&, const MatrixS<double>&,
                                                  const MatrixS<double>&, std::vector<MatrixS<double>>&);
template void attentionBackward<float>(const AttentionShape&, const MatrixS<float>&, const MatrixS<float>&,
                                       const MatrixS<float>&, const std::vector<MatrixS<float>>&, const MatrixS<float>&,
                                       MatrixS<float>&, MatrixS<float>&, MatrixS<float>&);
template void attentionBackward<double>(const AttentionShape&, const MatrixS<double>&, const MatrixS<double>&,
                                        const MatrixS<double>&, const std::vector<MatrixS<double>>&, const MatrixS<double>&,
                                        MatrixS<double>&, MatrixS<double>&, MatrixS<double>&);

}  // namespace qb::core::omniquant

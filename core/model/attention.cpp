#include "core/model/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/backend/backend.h"

namespace qb::core {

void headRmsNormRow(float* x, int heads, int headDim, const VectorF& weight, double eps) {
    for (int h = 0; h < heads; ++h) {
        Eigen::Map<Eigen::RowVectorXf> v(x + Index(h) * headDim, headDim);
        const float inv = 1.0f / std::sqrt(v.squaredNorm() / float(headDim) + float(eps));
        v = (v * inv).cwiseProduct(weight.transpose());
    }
}

void headRmsNorm(MatrixRM& x, int heads, int headDim, const VectorF& weight, double eps) {
    const Index n = x.rows();
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (n > 256)
    for (Index r = 0; r < n; ++r) headRmsNormRow(x.row(r).data(), heads, headDim, weight, eps);
}

MatrixRM causalAttention(const MatrixRM& q, const MatrixRM& k, const MatrixRM& v, int heads, int kvHeads, int headDim,
                         Index T, int slidingWindow) {
    const Index n = q.rows();
    const Index windows = n / T;
    const int group = heads / kvHeads;
    const float scale = 1.0f / std::sqrt(float(headDim));
    MatrixRM out(n, Index(heads) * headDim);
    constexpr Index kBlock = 64;  // query rows per block: S is [64, ≤T], stays in L2
    const Index tasks = windows * heads;
    // A short prompt is too little work for a parallel region: on a busy machine a second
    // thread that is not scheduled in time stalls the barrier for a whole time slice.
    constexpr double kMinParallelWork = 1 << 22;  // multiply-adds of QKᵀ and SV
    const double work = double(tasks) * double(T) * double(T) * double(headDim);
    const int threads = work < kMinParallelWork ? 1 : threadCount();
#pragma omp parallel num_threads(threads)
    {
        MatrixRM S(kBlock, T);
        MatrixRM Qs(kBlock, headDim);
#pragma omp for schedule(dynamic, 1)
        for (Index task = 0; task < tasks; ++task) {
            const Index w = task / heads;
            const int h = int(task % heads);
            const int g = h / group;
            const Index base = w * T;
            const auto K = k.block(base, Index(g) * headDim, T, headDim);  // [T, d]
            const auto V = v.block(base, Index(g) * headDim, T, headDim);  // [T, d]
            for (Index i0 = 0; i0 < T; i0 += kBlock) {
                const Index rows = std::min(kBlock, T - i0);
                // causal: block rows see keys [first, i0+rows); a sliding window W hides j ≤ i − W
                const Index first = slidingWindow > 0 ? std::max<Index>(0, i0 - slidingWindow + 1) : 0;
                const Index keys = i0 + rows - first;
                Qs.topRows(rows) = q.block(base + i0, Index(h) * headDim, rows, headDim) * scale;
                auto s = S.topLeftCorner(rows, keys);
                s.noalias() = Qs.topRows(rows) * K.middleRows(first, keys).transpose();  // scores [rows, keys]
                for (Index r = 0; r < rows; ++r) {
                    const Index i = i0 + r;
                    const Index lo = slidingWindow > 0 ? std::max<Index>(first, i - slidingWindow + 1) : 0;  // first visible key
                    const Index from = lo - first, visible = i + 1 - lo;
                    auto row = s.row(r).segment(from, visible).array();
                    const float m = row.maxCoeff();
                    row = (row - m).exp();
                    row /= row.sum();
                    s.row(r).head(from).setZero();
                    s.row(r).tail(keys - from - visible).setZero();
                }
                out.block(base + i0, Index(h) * headDim, rows, headDim).noalias() = s * V.middleRows(first, keys);
            }
        }
    }
    return out;
}

}  // namespace qb::core

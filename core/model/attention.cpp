#include "core/model/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/backend/backend.h"

namespace qb::core {

void applyRope(MatrixRM& x, int heads, int headDim, Index T, double ropeTheta) {
    const int half = headDim / 2;
    // cos/sin table [T, half], computed in double once per call.
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> cosT(T, half), sinT(T, half);
    for (int i = 0; i < half; ++i) {
        const double invFreq = std::pow(ropeTheta, -2.0 * i / headDim);
        for (Index p = 0; p < T; ++p) {
            cosT(p, i) = float(std::cos(double(p) * invFreq));
            sinT(p, i) = float(std::sin(double(p) * invFreq));
        }
    }
    const Index n = x.rows();
#pragma omp parallel for num_threads(threadCount()) schedule(static) if (n > 256)
    for (Index r = 0; r < n; ++r) {
        const Index p = r % T;
        float* row = x.row(r).data();
        for (int h = 0; h < heads; ++h) {
            float* v = row + h * headDim;
            for (int i = 0; i < half; ++i) {
                const float a = v[i], b = v[i + half];
                v[i] = a * cosT(p, i) - b * sinT(p, i);
                v[i + half] = b * cosT(p, i) + a * sinT(p, i);
            }
        }
    }
}

MatrixRM causalAttention(const MatrixRM& q, const MatrixRM& k, const MatrixRM& v, int heads, int kvHeads, int headDim,
                         Index T) {
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
                const Index keys = i0 + rows;  // causal: block rows see keys [0, i0+rows)
                Qs.topRows(rows) = q.block(base + i0, Index(h) * headDim, rows, headDim) * scale;
                auto s = S.topLeftCorner(rows, keys);
                s.noalias() = Qs.topRows(rows) * K.topRows(keys).transpose();  // scores [rows, keys]
                for (Index r = 0; r < rows; ++r) {
                    const Index visible = i0 + r + 1;
                    auto row = s.row(r).head(visible).array();
                    const float m = row.maxCoeff();
                    row = (row - m).exp();
                    row /= row.sum();
                    s.row(r).tail(keys - visible).setZero();
                }
                out.block(base + i0, Index(h) * headDim, rows, headDim).noalias() = s * V.topRows(keys);
            }
        }
    }
    return out;
}

}  // namespace qb::core

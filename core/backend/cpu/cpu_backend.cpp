#include "core/backend/cpu/cpu_backend.h"

#include "core/backend/cpu/blas_gemm.h"

#include <omp.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace qb::core {

std::string CpuBackend::description() const {
    return "CPU (Eigen, " + std::to_string(threadCount()) + " threads)";
}

void CpuBackend::linear(const ConstMatrixRef& X, const ConstMatrixRef& W, MatrixRM& Y) const {
    // Y[n,out] = X[n,in] · W[out,in]ᵀ. Eigen's own threading is off (EIGEN_DONT_PARALLELIZE);
    // we split the n rows into one contiguous block per thread, which scales better for the
    // small inner dimensions of LLM layers than Eigen's k-blocked parallel GEMM.
    const Index n = X.rows();
    Y.resize(n, W.rows());
    const int threads = std::max(1, std::min<int>(threadCount(), int((n + 63) / 64)));
    if (threads == 1) {
        Y.noalias() = X * W.transpose();
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int t = 0; t < threads; ++t) {
        const Index begin = n * t / threads;
        const Index end = n * (t + 1) / threads;
        Y.middleRows(begin, end - begin).noalias() = X.middleRows(begin, end - begin) * W.transpose();
    }
}

void CpuBackend::accumulateGram(const ConstMatrixRef& X, MatrixRMd& H) const {
    // H[d,d] += Xᵀ X, X: [n, d] row-major. The lower triangle is tiled into kTile × kTile
    // blocks; each block (I, J ≤ I) is one single-threaded float GEMM X[:, I]ᵀ · X[:, J] over a
    // chunk of at most kChunk rows (OpenBLAS, blas_gemm.h), added to H in double and mirrored
    // to (J, I). Blocks are independent, so the threads share them without a reduction, and
    // the symmetric half costs n·d² multiply-adds instead of the dense product's 2·n·d².
    // Float sums over ≤ kChunk rows keep ~1e-6 relative accuracy; the double accumulator
    // keeps long calibration runs from drifting.
    const Index n = X.rows();
    const Index d = X.cols();
    constexpr Index kTile = 512;
    constexpr Index kChunk = 4096;
    const Index tiles = (d + kTile - 1) / kTile;
    std::vector<std::pair<Index, Index>> blocks;  // (I, J) with J <= I
    for (Index I = 0; I < tiles; ++I)
        for (Index J = 0; J <= I; ++J) blocks.emplace_back(I, J);
    const int threads = std::max(1, std::min<int>(threadCount(), int(blocks.size())));
    const Index ld = X.outerStride();
    for (Index r0 = 0; r0 < n; r0 += kChunk) {
        const Index rows = std::min(kChunk, n - r0);
        const float* Xc = X.data() + r0 * ld;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            const auto [I, J] = blocks[b];
            const Index i0 = I * kTile, bi = std::min(kTile, d - i0);
            const Index j0 = J * kTile, bj = std::min(kTile, d - j0);
            MatrixRM G(bi, bj);  // G = X[:, i0:i0+bi]ᵀ · X[:, j0:j0+bj]
            gemmRowMajor(true, false, int(bi), int(bj), int(rows), 1.0f, Xc + i0, int(ld), Xc + j0, int(ld), 0.0f, G.data(),
                         int(bj));
            // A diagonal tile's two triangles come from different summation orders: keep the
            // lower one, so that H stays exactly symmetric.
            if (I == J) G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
            H.block(i0, j0, bi, bj) += G.cast<double>();
            if (I != J) H.block(j0, i0, bj, bi) += G.transpose().cast<double>();
        }
    }
}

}  // namespace qb::core

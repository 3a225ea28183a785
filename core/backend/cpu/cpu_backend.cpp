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

void CpuBackend::accumulateGram(const ConstMatrixRef& X, MatrixRMd& H) const { accumulateGramScaled(X, H, 1.0, 1.0); }

void accumulateGramScaled(const ConstMatrixRef& X, MatrixRMd& H, double beta, double alpha) {
    // The lower triangle is tiled into kTile × kTile blocks; each block (I, J ≤ I) is one
    // single-threaded float product over a chunk of at most kChunk rows — X[:, I]ᵀ·X[:, J]
    // (sgemm) below the diagonal, the lower half of X[:, I]ᵀ·X[:, I] (ssyrk) on it — folded
    // into H in double as H = b·H + alpha·G, and its transpose written to (J, I). Blocks are
    // independent, so the threads share them without a reduction, and the symmetric half
    // costs about n·d² multiply-adds instead of the dense product's 2·n·d².
    const Index n = X.rows();
    const Index d = X.cols();
    // A fixed tile width, so that H does not depend on the thread count (the diagonal tiles'
    // ssyrk and the sgemm below them round differently). d = 4096 gives 36 tiles: enough for
    // a few threads; on many cores the last round of tiles leaves threads idle.
    constexpr Index kTile = 512;
    constexpr Index kChunk = 4096;
    const Index tiles = (d + kTile - 1) / kTile;
    std::vector<std::pair<Index, Index>> blocks;  // (I, J) with J <= I; the cheaper diagonal ones last
    for (Index I = 0; I < tiles; ++I)
        for (Index J = 0; J < I; ++J) blocks.emplace_back(I, J);
    for (Index I = 0; I < tiles; ++I) blocks.emplace_back(I, I);
    const int threads = std::max(1, std::min<int>(threadCount(), int(blocks.size())));
    const Index ld = X.outerStride();
    if (n == 0) {
        if (beta == 0.0) H.setZero();
        else if (beta != 1.0) H *= beta;
        return;
    }
    for (Index r0 = 0; r0 < n; r0 += kChunk) {
        const Index rows = std::min(kChunk, n - r0);
        const float* Xc = X.data() + r0 * ld;
        const double b = r0 == 0 ? beta : 1.0;  // the rescale applies once, with the first chunk
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (std::size_t k = 0; k < blocks.size(); ++k) {
            const auto [I, J] = blocks[k];
            const Index i0 = I * kTile, bi = std::min(kTile, d - i0);
            const Index j0 = J * kTile, bj = std::min(kTile, d - j0);
            MatrixRM G(bi, bj);  // G = X[:, i0:i0+bi]ᵀ · X[:, j0:j0+bj] (lower half when I == J)
            if (I == J)
                syrkLowerTransRowMajor(int(bi), int(rows), 1.0f, Xc + i0, int(ld), 0.0f, G.data(), int(bj));
            else
                gemmRowMajor(true, false, int(bi), int(bj), int(rows), 1.0f, Xc + i0, int(ld), Xc + j0, int(ld), 0.0f,
                             G.data(), int(bj));
            for (Index i = 0; i < bi; ++i) {
                const Index jEnd = I == J ? i + 1 : bj;
                double* h = &H(i0 + i, j0);
                const float* g = G.row(i).data();
                if (b == 0.0)
                    for (Index j = 0; j < jEnd; ++j) h[j] = alpha * double(g[j]);
                else
                    for (Index j = 0; j < jEnd; ++j) h[j] = b * h[j] + alpha * double(g[j]);
            }
            // The upper triangle is the lower one's transpose (exactly symmetric H).
            if (I == J) {
                for (Index i = 0; i < bi; ++i)
                    for (Index j = 0; j < i; ++j) H(i0 + j, j0 + i) = H(i0 + i, j0 + j);
            } else {
                H.block(j0, i0, bj, bi) = H.block(i0, j0, bi, bj).transpose();
            }
        }
    }
}

}  // namespace qb::core

#include "core/backend/cpu/cpu_backend.h"

#include <omp.h>

#include <algorithm>

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
    // H[in,in] += Xᵀ X. Accumulate each thread's row block in float (rank-k update), then add in
    // double: the float partial sums over ≤ 4096 rows keep ~1e-6 relative accuracy, and the
    // double accumulator keeps long calibration runs from drifting.
    const Index n = X.rows();
    const Index d = X.cols();
    constexpr Index kChunk = 2048;
    const Index chunks = (n + kChunk - 1) / kChunk;
    const int threads = std::max(1, std::min<int>(threadCount(), int(chunks)));
    std::vector<MatrixRMd> partial(threads, MatrixRMd::Zero(d, d));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Index c = 0; c < chunks; ++c) {
        const Index begin = c * kChunk;
        const Index rows = std::min(kChunk, n - begin);
        Eigen::MatrixXf G(d, d);
        G.setZero();
        G.selfadjointView<Eigen::Lower>().rankUpdate(X.middleRows(begin, rows).transpose());
        G.triangularView<Eigen::StrictlyUpper>() = G.transpose();
        partial[omp_get_thread_num()] += G.cast<double>();
    }
    for (const auto& P : partial) H += P;
}

}  // namespace qb::core

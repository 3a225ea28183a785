#include "core/quant/hessian_inverse.h"

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>

#include "core/backend/backend.h"

namespace qb::core {

namespace {
constexpr Index kPanel = 128;  // block width of the blocked factorisation and inverse
constexpr double kMinRelativePivot = 1e-12;  // L_jj² / A_jj below this: singular to working precision
}

bool choleskyLowerInPlace(MatrixRMd& A) {
    // A: [n, n], row-major. Partition at step k (b = panel width):
    //   [ A11  .  ]      L11 = chol(A11)
    //   [ A21 A22 ]      L21 = A21 · L11⁻ᵀ,   A22 ← A22 − L21 · L21ᵀ  (lower part only)
    const Index n = A.rows();
    const int threads = threadCount();
    for (Index k = 0; k < n; k += kPanel) {
        const Index b = std::min(kPanel, n - k);
        const Index rest = n - k - b;
        Eigen::MatrixXd A11 = A.block(k, k, b, b);
        Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(A11);
        if (llt.info() != Eigen::Success || !llt.matrixLLT().diagonal().allFinite()) return false;
        const Eigen::MatrixXd L11 = llt.matrixL();
        A.block(k, k, b, b) = L11;
        if (rest == 0) break;
        // Panel: L21 = A21 · L11⁻ᵀ, row chunks in parallel.
        const Index chunks = (rest + kPanel - 1) / kPanel;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (Index c = 0; c < chunks; ++c) {
            const Index r0 = k + b + c * kPanel;
            const Index rows = std::min(kPanel, n - r0);
            auto A21 = A.block(r0, k, rows, b);
            L11.transpose().triangularView<Eigen::Upper>().solveInPlace<Eigen::OnTheRight>(A21);
        }
        // Trailing update of the lower triangle: row block I of A22 gets
        // A[I, k+b : end(I)] −= L21[I] · L21[k+b : end(I)]ᵀ; the biggest blocks go first.
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
        for (Index c = chunks - 1; c >= 0; --c) {
            const Index r0 = k + b + c * kPanel;
            const Index rows = std::min(kPanel, n - r0);
            const Index cols = r0 + rows - (k + b);
            A.block(r0, k + b, rows, cols).noalias() -= A.block(r0, k, rows, b) * A.block(k + b, k, cols, b).transpose();
        }
    }
    A.triangularView<Eigen::StrictlyUpper>().setZero();
    return A.diagonal().allFinite() && (A.diagonal().array() > 0.0).all();
}

MatrixRMd invertLowerTriangular(const MatrixRMd& L) {
    // Column block [a, a+w) of L⁻¹ is zero above row a and solves L[a:, a:] · X = I[a:, a:a+w].
    const Index n = L.rows();
    MatrixRMd Linv = MatrixRMd::Zero(n, n);
    const Index chunks = (n + kPanel - 1) / kPanel;
#pragma omp parallel for num_threads(threadCount()) schedule(dynamic, 1)
    for (Index c = 0; c < chunks; ++c) {
        const Index a = c * kPanel;
        const Index w = std::min(kPanel, n - a);
        Eigen::MatrixXd X = Eigen::MatrixXd::Identity(n - a, w);
        L.block(a, a, n - a, n - a).triangularView<Eigen::Lower>().solveInPlace(X);
        Linv.block(a, a, n - a, w) = X;
    }
    return Linv;
}

bool upperCholeskyOfInverse(const MatrixRMd& H, InverseHessianFactor& out) {
    MatrixRMd A = H.reverse();  // J·H·J: A(i, j) = H(n−1−i, n−1−j)
    if (!choleskyLowerInPlace(A)) return false;
    // A pivot L_jj² that is a rounding residue of A_jj means H is singular to working
    // precision: report failure so that the caller damps more, rather than return a huge U.
    const auto pivots = A.diagonal().array().square();
    if ((pivots < kMinRelativePivot * H.reverse().diagonal().array()).any()) return false;
    const MatrixRMd Linv = invertLowerTriangular(A);
    out.U = Linv.reverse().cast<float>();  // eq. (1): U = J · L̃⁻¹ · J
    out.Lrev = A.cast<float>();
    return out.U.allFinite();
}

}  // namespace qb::core

#include "core/quant/hessian_inverse.h"

#include <Eigen/Cholesky>

#include <algorithm>
#include <cmath>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"

namespace qb::core {

namespace {

constexpr Index kPanel = 128;        // row-chunk width of the parallel loops
constexpr Index kSerialBlock = 512;  // diagonal blocks up to this size are factored serially
constexpr double kMinRelativePivot = 1e-12;  // L_jj² / A_jj below this: singular to working precision

// Factors the diagonal block A[k0:k0+n, k0:k0+n] in place (lower triangle), recursively:
//   [ A11  .  ]      L11 = chol(A11)                      (recursion)
//   [ A21 A22 ]      L21 = A21 · L11⁻ᵀ                    (row chunks in parallel)
//                    A22 ← A22 − L21 · L21ᵀ, lower part   (row chunks in parallel)
//                    L22 = chol(A22)                      (recursion)
// Halving keeps the updates large GEMMs (inner size n/2) and the number of parallel
// regions small (2 per level above kSerialBlock), which matters on a shared machine
// where a descheduled thread stalls every barrier.
bool choleskyBlock(MatrixRMd& A, Index k0, Index n, int threads) {
    if (n <= kSerialBlock) {
        const Eigen::MatrixXd Akk = A.block(k0, k0, n, n);
        const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(Akk);
        if (llt.info() != Eigen::Success || !llt.matrixLLT().diagonal().allFinite()) return false;
        A.block(k0, k0, n, n).triangularView<Eigen::Lower>() = llt.matrixL();
        return true;
    }
    const Index n1 = (n / 2 + kPanel - 1) / kPanel * kPanel;
    const Index n2 = n - n1;
    if (!choleskyBlock(A, k0, n1, threads)) return false;
    const Index k1 = k0 + n1;
    const Index chunks = (n2 + kPanel - 1) / kPanel;
    const auto L11 = A.block(k0, k0, n1, n1);
    bool finite = true;
#pragma omp parallel num_threads(threads)
    {
#pragma omp for schedule(dynamic, 1)
        for (Index c = 0; c < chunks; ++c) {
            // A21 ← A21 · L11⁻ᵀ
            trsmLowerRowMajor(false, true, int(std::min(kPanel, n2 - c * kPanel)), int(n1), L11.data(), int(A.cols()),
                              &A(k1 + c * kPanel, k0), int(A.cols()));
        }
        // Biggest row blocks first: block c updates columns k1 .. end of its rows.
#pragma omp for schedule(dynamic, 1) reduction(&& : finite)
        for (Index c = chunks - 1; c >= 0; --c) {
            const Index r0 = k1 + c * kPanel;
            const Index rows = std::min(kPanel, n2 - c * kPanel);
            const Index cols = r0 + rows - k1;
            // A22[r0:r0+rows, k1:k1+cols] −= L21[r0 rows] · L21[k1 rows]ᵀ
            gemmRowMajor(false, true, int(rows), int(cols), int(n1), -1.0, &A(r0, k0), int(A.cols()), &A(k1, k0), int(A.cols()),
                         1.0, &A(r0, k1), int(A.cols()));
            finite = finite && A.block(r0, k0, rows, n1).allFinite();
        }
    }
    return finite && choleskyBlock(A, k1, n2, threads);
}

}  // namespace

bool choleskyLowerInPlace(MatrixRMd& A) {
    // A: [n, n], row-major; only the lower triangle is read.
    if (!choleskyBlock(A, 0, A.rows(), threadCount())) return false;
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
        MatrixRMd X = MatrixRMd::Identity(n - a, w);  // X ← L[a:, a:]⁻¹ · X
        trsmLowerRowMajor(true, false, int(n - a), int(w), &L(a, a), int(n), X.data(), int(w));
        Linv.block(a, a, n - a, w) = X;
    }
    return Linv;
}

namespace {

// Eq. (1) on A = J·H'·J, factored in place. The float factors are taken as soon as their
// source is final and each double matrix is freed as early as possible: the peak is A, L̃⁻¹
// and Lrev together (2.5 n² doubles' worth) instead of four n × n matrices.
bool factorReversed(MatrixRMd& A, const VectorD& reversedDiag, InverseHessianFactor& out) {
    if (!choleskyLowerInPlace(A)) return false;
    // A pivot L_jj² that is a rounding residue of A_jj means H is singular to working
    // precision: report failure so that the caller damps more, rather than return a huge U.
    const auto pivots = A.diagonal().array().square();
    if ((pivots < kMinRelativePivot * reversedDiag.array()).any()) return false;
    out.Lrev = A.cast<float>();
    MatrixRMd Linv = invertLowerTriangular(A);
    A = MatrixRMd();
    out.U = Linv.reverse().cast<float>();  // eq. (1): U = J · L̃⁻¹ · J
    return out.U.allFinite();
}

}  // namespace

bool upperCholeskyOfInverse(const MatrixRMd& H, InverseHessianFactor& out) {
    MatrixRMd A = H.reverse();  // J·H·J: A(i, j) = H(n−1−i, n−1−j)
    const VectorD reversedDiag = A.diagonal();
    return factorReversed(A, reversedDiag, out);
}

bool upperCholeskyOfInverse(const Eigen::Ref<const MatrixRMd>& H, const std::vector<Index>& perm, const VectorD& diag,
                            InverseHessianFactor& out) {
    const Index n = H.rows();
    // A = J·H'·J: A(i, j) = H'(n−1−i, n−1−j) = H(perm[n−1−i], perm[n−1−j]), diagonal from diag.
    MatrixRMd A(n, n);
#pragma omp parallel for num_threads(threadCount()) schedule(static)
    for (Index i = 0; i < n; ++i) {
        const Index r = perm[std::size_t(n - 1 - i)];
        for (Index j = 0; j < n; ++j) A(i, j) = H(r, perm[std::size_t(n - 1 - j)]);
        A(i, i) = diag[n - 1 - i];
    }
    const VectorD reversedDiag = diag.reverse();
    return factorReversed(A, reversedDiag, out);
}

}  // namespace qb::core

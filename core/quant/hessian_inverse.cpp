#include "core/quant/hessian_inverse.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"

namespace qb::core {

namespace {
constexpr double kMinRelativePivot = 1e-12;  // L_jj² / A_jj below this: singular to working precision
}  // namespace

bool choleskyLowerInPlace(MatrixRMd& A) {
    // A: [n, n], row-major; only the lower triangle is read (LAPACK dpotrf, threaded by OpenBLAS).
    if (A.rows() == 0) return true;
    if (!potrfLowerRowMajor(int(A.rows()), A.data(), int(A.outerStride()))) return false;
    A.triangularView<Eigen::StrictlyUpper>().setZero();
    return A.diagonal().allFinite() && (A.diagonal().array() > 0.0).all();
}

MatrixRMd invertLowerTriangular(const MatrixRMd& L) {
    // L⁻¹ is lower triangular too (LAPACK dtrtri on the lower triangle, threaded by OpenBLAS).
    MatrixRMd Linv = L.triangularView<Eigen::Lower>();
    if (Linv.rows() > 0 && !trtriLowerRowMajor(int(Linv.rows()), Linv.data(), int(Linv.outerStride())))
        Linv.setConstant(std::numeric_limits<double>::quiet_NaN());  // a zero pivot: the caller sees non-finite values
    return Linv;
}

namespace {

// Eq. (1) on A = J·H'·J, factored and inverted in place: the peak is A and the float Lrev
// (1.5 n² doubles' worth).
bool factorReversed(MatrixRMd& A, const VectorD& reversedDiag, InverseHessianFactor& out) {
    if (!choleskyLowerInPlace(A)) return false;
    // A pivot L_jj² that is a rounding residue of A_jj means H is singular to working
    // precision: report failure so that the caller damps more, rather than return a huge U.
    const auto pivots = A.diagonal().array().square();
    if ((pivots < kMinRelativePivot * reversedDiag.array()).any()) return false;
    out.Lrev = A.cast<float>();
    if (!trtriLowerRowMajor(int(A.rows()), A.data(), int(A.outerStride()))) return false;  // A ← L̃⁻¹ (strict upper stays 0)
    out.U = A.reverse().cast<float>();  // eq. (1): U = J · L̃⁻¹ · J
    A = MatrixRMd();
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

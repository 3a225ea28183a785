#pragma once
// Dense symmetric positive-definite helpers for GPTQ's inverse Hessian: LAPACK's potrf and
// trtri (double or float) through OpenBLAS, which runs them on its own OpenMP threads
// (core/backend/cpu/blas_gemm.h).
//
// GPTQ needs U = the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU; the reference computes
// cholesky → cholesky_inverse → cholesky(upper)). With J the reversal permutation and
// J·H·J = L̃·L̃ᵀ (lower Cholesky), H⁻¹ = (J L̃⁻ᵀ J)(J L̃⁻¹ J), and J L̃⁻¹ J is upper
// triangular with a positive diagonal, so by uniqueness
//     U = J · L̃⁻¹ · J                                                     (1)
// one Cholesky and one triangular inverse (≈ 2n³/3 flops instead of ≈ 4n³/3).

#include <functional>
#include <vector>

#include "core/util/matrix.h"

namespace qb::core {

/// In-place lower Cholesky factor: on success the lower triangle of A holds L with
/// A = L·Lᵀ and the strict upper triangle is zeroed; only the lower triangle of A is read.
/// Returns false (A then undefined) when A is not numerically positive definite.
[[nodiscard]] bool choleskyLowerInPlace(MatrixRMd& A);

/// L⁻¹ for a lower-triangular L with non-zero diagonal (lower triangular result; all NaN
/// when a diagonal entry is zero).
[[nodiscard]] MatrixRMd invertLowerTriangular(const MatrixRMd& L);

/// Result of upperCholeskyOfInverse().
struct InverseHessianFactor {
    MatrixRM U;  ///< [n, n] upper, H⁻¹ = UᵀU, float (what the GPTQ sweep reads)
};

/// Sees L̃ [n, n] (lower, strict upper zero, J·H·J = L̃·L̃ᵀ) once per factorisation that
/// passed the pivot test, in the factor's own storage, before the triangular inverse
/// overwrites it: GPTQ's ‖·‖_H norms read it there, so no copy of L̃ (n² floats) is kept. The
/// float factorisation passes its storage; the double one passes L̃ rounded to float. A
/// factorisation can still fail after the visit (a zero pivot in the inverse): the last visit
/// before a success is the factor of the U returned.
using LowerFactorVisitor = std::function<void(const MatrixRM& Lrev)>;

/// Eq. (1) above for a symmetric positive-definite H (double). Returns false when the
/// Cholesky factorisation fails or a pivot L_jj² falls below 1e-12·H_jj (H singular to
/// working precision); the caller then increases damping and retries.
[[nodiscard]] bool upperCholeskyOfInverse(const MatrixRMd& H, InverseHessianFactor& out,
                                          const LowerFactorVisitor& visitLrev = {});

/// The precision of the factorisation (U and the visited L̃ are float either way).
enum class FactorPrecision {
    Double,  ///< dpotrf + dtrtri
    /// spotrf + strtri, as the reference runs its whole factorisation in float32: half the
    /// flops' time and memory of Double. Stricter failure test: a pivot L_jj² below
    /// 1e-4·H_jj (1e-4 of the column's energy left after cancellation, where float's 6e-8
    /// rounding becomes ≥ 6e-4 relative in that column) also fails, so that the caller falls
    /// back to Double before it damps more.
    Float,
};

/// The same for H' = P·H·Pᵀ with its diagonal replaced by `diag` (processing order), where
/// perm[i] is the row of H processed i-th: H'(i, j) = H(perm[i], perm[j]) off the diagonal,
/// H'(i, i) = diag[i]. Forms J·H'·J once, in the factor's own storage, so GPTQ needs no
/// permuted or damped copy of H (for a 8192-wide input that copy alone is 537 MB).
/// Only H's lower triangle (in processing order) is read and copied.
[[nodiscard]] bool upperCholeskyOfInverse(const Eigen::Ref<const MatrixRMd>& H, const std::vector<Index>& perm,
                                          const VectorD& diag, InverseHessianFactor& out,
                                          FactorPrecision precision = FactorPrecision::Double,
                                          const LowerFactorVisitor& visitLrev = {});

}  // namespace qb::core

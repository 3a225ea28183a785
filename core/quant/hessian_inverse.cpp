#include "core/quant/hessian_inverse.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>
#include <utility>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"
#include "core/util/huge_pages.h"

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

constexpr double kMinRelativePivotFloat = 1e-4;  // see FactorPrecision::Float

// U(i, j) = A(n−1−i, n−1−j) for the contiguous row-major square A: its element order
// reversed, in place, the two halves swapped in parallel chunks (one pass, with the finite
// check fused in). Returns whether every element is finite.
bool reverseAllFinite(float* a, Index size) {
    const Index half = size / 2;
    constexpr Index kChunk = Index(1) << 16;
    const Index chunks = (half + kChunk - 1) / kChunk;
    bool finite = size % 2 == 0 || std::isfinite(a[half]);
#pragma omp parallel for num_threads(threadCount()) schedule(static) reduction(&& : finite)
    for (Index c = 0; c < chunks; ++c) {
        const Index i0 = c * kChunk, i1 = std::min(half, i0 + kChunk);
        float* lo = a + i0;
        float* hi = a + size - i1;  // the mirror of [i0, i1): [size − i1, size − i0)
        const Index m = i1 - i0;
        bool ok = true;
        for (Index k = 0; k < m; ++k) {
            const float x = lo[k], y = hi[m - 1 - k];
            ok = ok && std::isfinite(x) && std::isfinite(y);
            lo[k] = y;
            hi[m - 1 - k] = x;
        }
        finite = finite && ok;
    }
    return finite;
}

// Eq. (1) on A = J·H'·J (lower triangle filled, strict upper zero), factored and inverted in
// place; U takes A's storage when A is float. LAPACK's potrf and trtri read and write only the
// lower triangle, so the strict upper stays zero. The peak is A alone (float).
template <class T>
bool factorReversed(Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>& A, const VectorD& reversedDiag,
                    double minPivot, InverseHessianFactor& out, const LowerFactorVisitor& visitLrev) {
    const Index n = A.rows();
    if (n == 0) {
        out.U.resize(0, 0);
        if (visitLrev) visitLrev(MatrixRM());
        return true;
    }
    if (!potrfLowerRowMajor(int(n), A.data(), int(A.outerStride()))) return false;
    // A pivot L_jj² that is a rounding residue of A_jj means H is singular to working
    // precision: report failure so that the caller damps more (or factors in double),
    // rather than return a huge U.
    for (Index j = 0; j < n; ++j) {
        const double p = double(A(j, j));
        if (!std::isfinite(p) || !(p > 0.0) || p * p < minPivot * reversedDiag[j]) return false;
    }
    if (visitLrev) {
        if constexpr (std::is_same_v<T, float>)
            visitLrev(A);
        else
            visitLrev(A.template cast<float>());
    }
    if (!trtriLowerRowMajor(int(n), A.data(), int(A.outerStride()))) return false;  // A ← L̃⁻¹ (strict upper stays 0)
    // eq. (1): U = J · L̃⁻¹ · J.
    if constexpr (std::is_same_v<T, float>) {
        const bool finite = reverseAllFinite(A.data(), n * n);
        out.U = std::move(A);
        return finite;
    } else {
        out.U = A.reverse().template cast<float>();
        A = MatrixRMd();
        return out.U.allFinite();
    }
}

// A(i, j) = H'(n−1−i, n−1−j) on and below the diagonal, 0 above it, in T (every element
// written here, by the parallel rows, so the later passes find their pages mapped).
template <class T>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> reversedLower(const Eigen::Ref<const MatrixRMd>& H,
                                                                                 const std::vector<Index>& perm,
                                                                                 const VectorD& diag) {
    const Index n = H.rows();
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> A(n, n);
    adviseHugePages(A.data(), std::size_t(A.size()) * sizeof(T));
#pragma omp parallel for num_threads(threadCount()) schedule(dynamic, 64)
    for (Index i = 0; i < n; ++i) {
        const double* h = H.row(perm[std::size_t(n - 1 - i)]).data();
        T* a = A.row(i).data();
        for (Index j = 0; j < i; ++j) a[j] = T(h[perm[std::size_t(n - 1 - j)]]);
        a[i] = T(diag[n - 1 - i]);
        std::fill(a + i + 1, a + n, T(0));
    }
    return A;
}

}  // namespace

bool upperCholeskyOfInverse(const MatrixRMd& H, InverseHessianFactor& out, const LowerFactorVisitor& visitLrev) {
    std::vector<Index> perm(std::size_t(H.rows()));
    for (Index i = 0; i < H.rows(); ++i) perm[std::size_t(i)] = i;
    return upperCholeskyOfInverse(H, perm, H.diagonal(), out, FactorPrecision::Double, visitLrev);
}

bool upperCholeskyOfInverse(const Eigen::Ref<const MatrixRMd>& H, const std::vector<Index>& perm, const VectorD& diag,
                            InverseHessianFactor& out, FactorPrecision precision, const LowerFactorVisitor& visitLrev) {
    // A = J·H'·J: A(i, j) = H'(n−1−i, n−1−j) = H(perm[n−1−i], perm[n−1−j]), diagonal from diag.
    const VectorD reversedDiag = diag.reverse();
    if (precision == FactorPrecision::Float) {
        MatrixRM A = reversedLower<float>(H, perm, diag);
        return factorReversed(A, reversedDiag, kMinRelativePivotFloat, out, visitLrev);
    }
    MatrixRMd A = reversedLower<double>(H, perm, diag);
    return factorReversed(A, reversedDiag, kMinRelativePivot, out, visitLrev);
}

}  // namespace qb::core

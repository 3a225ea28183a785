#pragma once
// gemmRowMajor — one single-threaded GEMM through OpenBLAS, for the CPU backend's
// blocked loops that already run one block per OpenMP thread (the Gram tiles of the GPTQ
// Hessian, GPTQ's lazy block updates). OpenBLAS's packed micro-kernels run about twice as
// fast as Eigen's on these shapes (the double versions serve the blocked Cholesky of
// hessian_inverse.cpp); the callers keep the parallel structure, so BLAS is
// called from inside parallel regions and must not start threads of its own
// (initBlasThreading()).
//
//   C[m, n] = alpha · op(A) · op(B) + beta · C,  all row-major with leading dimensions lda,
//   ldb, ldc (elements); op(X) = Xᵀ when the trans flag is set. A: [m, k] (or [k, m] when
//   transA), B: [k, n] (or [n, k] when transB).

namespace qb::core {

void gemmRowMajor(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
                  int ldb, float beta, float* C, int ldc);

/// The same in double.
void gemmRowMajor(bool transA, bool transB, int m, int n, int k, double alpha, const double* A, int lda, const double* B,
                  int ldb, double beta, double* C, int ldc);

/// The lower triangle of C[n, n] = alpha · Aᵀ·A + beta · C for a row-major A [k, n] (BLAS
/// ssyrk, single-threaded like gemmRowMajor); the strict upper triangle of C is not touched.
void syrkLowerTransRowMajor(int n, int k, float alpha, const float* A, int lda, float beta, float* C, int ldc);

/// Triangular solve in place, single-threaded, row-major: B[m, n] ← op(L)⁻¹·B (left) or
/// B·op(L)⁻¹ (right) for a lower-triangular L with a non-unit diagonal, op(L) = Lᵀ when trans.
void trsmLowerRowMajor(bool left, bool trans, int m, int n, const double* L, int ldl, double* B, int ldb);

/// LAPACK's Cholesky factorisation (dpotrf) of a symmetric positive-definite row-major
/// A [n, n] in place: on success the lower triangle holds L with A = L·Lᵀ (the strict upper
/// triangle is left as it was). Only the lower triangle is read. Returns false when A is not
/// positive definite (a non-positive pivot). Called outside parallel regions, OpenBLAS runs it
/// on the OpenMP threads of the caller (threadCount() after setThreadCount()).
[[nodiscard]] bool potrfLowerRowMajor(int n, double* A, int lda);

/// LAPACK's triangular inverse (dtrtri) in place: the lower triangle of the row-major A [n, n]
/// becomes L⁻¹; the strict upper triangle is not touched. False when L has a zero diagonal.
[[nodiscard]] bool trtriLowerRowMajor(int n, double* A, int lda);

/// The float versions of the two above (spotrf, strtri), same conventions.
[[nodiscard]] bool potrfLowerRowMajor(int n, float* A, int lda);
[[nodiscard]] bool trtriLowerRowMajor(int n, float* A, int lda);

/// Keeps OpenBLAS single-threaded when it is the pthreads build (an OpenMP build already
/// runs single-threaded inside our parallel regions). Idempotent; called by the backend.
void initBlasThreading();

/// While alive, BLAS calls from this thread run on one thread even outside a parallel region.
/// An OpenMP OpenBLAS otherwise takes its thread count from the calling thread's
/// omp_get_max_threads(), which setThreadCount() sets per thread, and a GEMM split over another
/// thread count can round differently: a figure meant to be reproducible (the output error a
/// resumed run must repeat bit for bit) needs the same split whichever thread computes it.
class SingleThreadedBlas {
public:
    SingleThreadedBlas();
    ~SingleThreadedBlas();
    SingleThreadedBlas(const SingleThreadedBlas&) = delete;
    SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

private:
    int m_saved = 0;
};

}  // namespace qb::core

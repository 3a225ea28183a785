#include "core/backend/cpu/blas_gemm.h"

#include <cblas.h>

#include <mutex>

#include <omp.h>

extern "C" int openblas_get_parallel(void);
extern "C" void openblas_set_num_threads(int);
// LAPACK as OpenBLAS exports it (Fortran calling convention, column-major).
extern "C" void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
extern "C" void dtrtri_(const char* uplo, const char* diag, const int* n, double* a, const int* lda, int* info);
extern "C" void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
extern "C" void strtri_(const char* uplo, const char* diag, const int* n, float* a, const int* lda, int* info);

namespace qb::core {

void gemmRowMajor(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda, const float* B,
                  int ldb, float beta, float* C, int ldc) {
    initBlasThreading();
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

void gemmRowMajor(bool transA, bool transB, int m, int n, int k, double alpha, const double* A, int lda, const double* B,
                  int ldb, double beta, double* C, int ldc) {
    initBlasThreading();
    cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

void syrkLowerTransRowMajor(int n, int k, float alpha, const float* A, int lda, float beta, float* C, int ldc) {
    initBlasThreading();
    cblas_ssyrk(CblasRowMajor, CblasLower, CblasTrans, n, k, alpha, A, lda, beta, C, ldc);
}

void trsmLowerRowMajor(bool left, bool trans, int m, int n, const double* L, int ldl, double* B, int ldb) {
    initBlasThreading();
    cblas_dtrsm(CblasRowMajor, left ? CblasLeft : CblasRight, CblasLower, trans ? CblasTrans : CblasNoTrans, CblasNonUnit, m,
                n, 1.0, L, ldl, B, ldb);
}

// A row-major matrix is the column-major storage of its transpose: the row-major lower
// triangle is LAPACK's upper one, and A = L·Lᵀ (row-major) is A = Uᵀ·U with U = Lᵀ (column-major).
bool potrfLowerRowMajor(int n, double* A, int lda) {
    initBlasThreading();
    int info = 0;
    dpotrf_("U", &n, A, &lda, &info);
    return info == 0;
}

bool trtriLowerRowMajor(int n, double* A, int lda) {
    initBlasThreading();
    int info = 0;
    dtrtri_("U", "N", &n, A, &lda, &info);  // (Lᵀ)⁻¹ = (L⁻¹)ᵀ: the row-major lower triangle is L⁻¹
    return info == 0;
}

bool potrfLowerRowMajor(int n, float* A, int lda) {
    initBlasThreading();
    int info = 0;
    spotrf_("U", &n, A, &lda, &info);
    return info == 0;
}

bool trtriLowerRowMajor(int n, float* A, int lda) {
    initBlasThreading();
    int info = 0;
    strtri_("U", "N", &n, A, &lda, &info);
    return info == 0;
}

void initBlasThreading() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (openblas_get_parallel() == 1) openblas_set_num_threads(1);  // 1 = pthreads build
    });
}

SingleThreadedBlas::SingleThreadedBlas() : m_saved(omp_get_max_threads()) { omp_set_num_threads(1); }

SingleThreadedBlas::~SingleThreadedBlas() { omp_set_num_threads(m_saved); }

}  // namespace qb::core

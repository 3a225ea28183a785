#pragma once
// Vector-wise symmetric int8 quantization and an exact integer matrix product, shared by
// W8A8 (SmoothQuant) and LLM.int8().
//
//   row scale  s_r = max(absmax(A_r), 1e-5) / qmax,   qmax = 2^(bits−1) − 1
//   codes      A_q[r, c] = clamp(round(A[r, c] / s_r), −qmax, qmax)     (round half to even)
// (SmoothQuant's quantize_*_absmax; LLM.int8()'s vector-wise quantization, Dettmers et al. eq. 1–2.)
//
// The product C = A_q · B_qᵀ is an int8 × int8 → int32 GEMM, computed exactly by the integer
// kernels of core/kernels/int8_gemm.h (AVX2 maddubs/madd, or the scalar reference). Codes
// with |q| > 127 (only possible through integerProduct() with qmax > 127) fall back to float
// GEMMs on column chunks short enough that every partial sum is an integer below 2^24.

#include <cstdint>
#include <memory>
#include <vector>

#include "core/kernels/int8_gemm.h"
#include "core/util/matrix.h"

namespace qb::core {

using Int32Matrix = Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Row-wise absmax quantization of A [rows, cols].
struct RowQuantized {
    MatrixRM codes;  ///< [rows, cols], integer values in [−qmax, qmax] held in float
    VectorF scales;  ///< [rows], s_r (the value of code 1 in row r)
    /// The codes as padded int8 rows for the integer kernels: set by packInt8() (W8A8 and
    /// LLM.int8() modules pack their weight once, at construction); empty otherwise.
    std::shared_ptr<const kernels::PackedInt8Weight> int8 = nullptr;
};

/// Quantizes every row of A with its own absmax scale; bits in 2..8. Throws Error otherwise.
[[nodiscard]] RowQuantized quantizeRowsAbsmax(const ConstMatrixRef& A, int bits);

/// Sets R.int8 from R.codes. Throws Error if a code is not an integer in −127..127.
void packInt8(RowQuantized& R);

/// Row-wise absmax quantization straight to int8: the codes and scales of
/// quantizeRowsAbsmax(A, bits), in rows zero-padded to kernels::int8Stride(cols).
struct Int8RowQuantized {
    Index rows = 0, cols = 0, stride = 0;
    std::vector<std::int8_t> codes;  ///< [rows][stride]
    VectorF scales;                  ///< [rows]
};
[[nodiscard]] Int8RowQuantized quantizeRowsAbsmaxInt8(const ConstMatrixRef& A, int bits);

/// Y[n, m] = (Aq · Bqᵀ)[n, m] · sa[n] · sb[m] with the exact int8 kernels (B packed with
/// packInt8(), else packed for this call). Throws Error if the inner sizes differ.
void dequantizedProduct(const Int8RowQuantized& A, const RowQuantized& B, MatrixRM& Y);

/// C[n, m] = Aq[n, k] · Bq[m, k]ᵀ exactly, for integer-valued Aq, Bq with |Aq| ≤ qmaxA and
/// |Bq| ≤ qmaxB (qmaxA·qmaxB·k < 2^31). int8 kernels when both qmax ≤ 127.
[[nodiscard]] Int32Matrix integerProduct(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB);

/// Y[n, m] = (Aq · Bqᵀ)[n, m] · sa[n] · sb[m], the dequantized int8 GEMM.
void dequantizedProduct(const RowQuantized& A, const RowQuantized& B, int qmaxA, int qmaxB, MatrixRM& Y);

}  // namespace qb::core

#pragma once
// Vector-wise symmetric int8 quantization and an exact integer matrix product, shared by
// W8A8 (SmoothQuant) and LLM.int8().
//
//   row scale  s_r = max(absmax(A_r), 1e-5) / qmax,   qmax = 2^(bits−1) − 1
//   codes      A_q[r, c] = clamp(round(A[r, c] / s_r), −qmax, qmax)     (round half to even)
// (SmoothQuant's quantize_*_absmax; LLM.int8()'s vector-wise quantization, Dettmers et al. eq. 1–2.)
//
// The product C = A_q · B_qᵀ is what an int8 GEMM accumulates in int32. We compute it with
// float GEMMs on column chunks short enough that every partial sum is an integer below
// 2^24 (so exactly representable), and add the chunks in int32: bit-for-bit the int32
// result, at float-GEMM speed.

#include <cstdint>

#include "core/util/matrix.h"

namespace qb::core {

using Int32Matrix = Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Row-wise absmax quantization of A [rows, cols].
struct RowQuantized {
    MatrixRM codes;  ///< [rows, cols], integer values in [−qmax, qmax] held in float
    VectorF scales;  ///< [rows], s_r (the value of code 1 in row r)
};

/// Quantizes every row of A with its own absmax scale; bits in 2..8. Throws Error otherwise.
[[nodiscard]] RowQuantized quantizeRowsAbsmax(const ConstMatrixRef& A, int bits);

/// C[n, m] = Aq[n, k] · Bq[m, k]ᵀ exactly, for integer-valued Aq, Bq with |Aq| ≤ qmaxA and
/// |Bq| ≤ qmaxB (qmaxA·qmaxB·k < 2^31). Runs on the CPU backend, parallel over rows.
[[nodiscard]] Int32Matrix integerProduct(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB);

/// Y[n, m] = (Aq · Bqᵀ)[n, m] · sa[n] · sb[m], the dequantized int8 GEMM.
void dequantizedProduct(const RowQuantized& A, const RowQuantized& B, int qmaxA, int qmaxB, MatrixRM& Y);

}  // namespace qb::core

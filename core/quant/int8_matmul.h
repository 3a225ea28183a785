#pragma once
// Vector-wise symmetric int8 quantization and an exact integer matrix product, shared by
// W8A8 (SmoothQuant) and LLM.int8().
//
//   row scale  s_r = max(absmax(A_r), 1e-5) / qmax,   qmax = 2^(bits−1) − 1
//   codes      A_q[r, c] = clamp(round(A[r, c] / s_r), −qmax, qmax)     (round half to even)
// (SmoothQuant's quantize_*_absmax; LLM.int8()'s vector-wise quantization, Dettmers et al. eq. 1–2.)
//
// The product C = A_q · B_qᵀ is an int8 × int8 → int32 GEMM, computed exactly by the integer
// kernels of core/kernels/int8_gemm.h (AVX2 maddubs/madd, or the scalar reference) straight
// from the int8 rows of Int8RowQuantized. RowQuantized (codes held in float) is the
// reference form for tests and for integer codes beyond int8 (integerProduct() with
// qmax > 127), which fall back to float GEMMs on column chunks short enough that every
// partial sum is an integer below 2^24.

#include <cstdint>
#include <string>
#include <vector>

#include "core/kernels/int8_gemm.h"
#include "core/util/matrix.h"

namespace qb::core {

using Int32Matrix = Eigen::Matrix<std::int32_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Row-wise absmax quantization of A [rows, cols] with the codes held in float: the reference
/// form (4 bytes per code). Modules hold Int8RowQuantized instead.
struct RowQuantized {
    MatrixRM codes;  ///< [rows, cols], integer values in [−qmax, qmax] held in float
    VectorF scales;  ///< [rows], s_r (the value of code 1 in row r)
};

/// Quantizes every row of A with its own absmax scale; bits in 2..8. Throws Error otherwise.
[[nodiscard]] RowQuantized quantizeRowsAbsmax(const ConstMatrixRef& A, int bits);

/// Row-wise absmax quantization held as int8: the weight of W8A8 and LLM.int8() modules
/// (1 byte per code) and the per-token activations of their products. Each row is zero-padded
/// to kernels::int8Stride(cols) bytes so the integer kernels read it in place.
struct Int8RowQuantized {
    Index rows = 0, cols = 0, stride = 0;
    std::vector<std::int8_t> codes;  ///< [rows][stride], codes in −127..127, padding 0
    VectorF scales;                  ///< [rows], s_r

    /// Code of row r, column c.
    [[nodiscard]] std::int8_t code(Index r, Index c) const { return codes[std::size_t(r * stride + c)]; }
    /// The rows as the integer kernels take them (valid while this object lives, unchanged).
    [[nodiscard]] kernels::Int8Rows view() const { return {rows, cols, stride, codes.data()}; }
    /// A[r, c] ≈ code(r, c) · s_r: [rows, cols] in float.
    [[nodiscard]] MatrixRM dequantized() const;
};

/// The codes and scales of quantizeRowsAbsmax(A, bits), held as int8.
[[nodiscard]] Int8RowQuantized quantizeRowsAbsmaxInt8(const ConstMatrixRef& A, int bits);

/// From stored codes [rows, cols] row-major (unpadded, as a checkpoint's int8 "weight") and
/// per-row scales [rows]. Throws Error if a code is −128, scales has another size than rows
/// or holds NaN or Inf.
[[nodiscard]] Int8RowQuantized int8RowsFromCodes(const std::int8_t* codes, Index rows, Index cols, VectorF scales);

/// Throws Error unless R is consistent: stride = int8Stride(cols), codes.size() = rows · stride,
/// scales [rows] finite, every code in −127..127 and the padding zero. what names R in messages.
void checkInt8Rows(const Int8RowQuantized& R, const std::string& what);

/// Y[n, m] = (Aq · Bqᵀ)[n, m] · sa[n] · sb[m] with the exact int8 × int8 → int32 kernels.
/// Throws Error if the inner sizes differ.
void dequantizedProduct(const Int8RowQuantized& A, const Int8RowQuantized& B, MatrixRM& Y);

/// C[n, m] = Aq[n, k] · Bq[m, k]ᵀ exactly, for integer-valued Aq, Bq with |Aq| ≤ qmaxA and
/// |Bq| ≤ qmaxB (qmaxA·qmaxB·k < 2^31). int8 kernels when both qmax ≤ 127.
[[nodiscard]] Int32Matrix integerProduct(const ConstMatrixRef& Aq, const ConstMatrixRef& Bq, int qmaxA, int qmaxB);

}  // namespace qb::core

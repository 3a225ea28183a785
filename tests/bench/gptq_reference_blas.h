#pragma once
// The GPTQ reference (IST-DASLab/gptq, gptq.py: add_batch and fasterquant) replayed with one
// OpenBLAS call per PyTorch operation, in float32 as PyTorch runs it on a CPU. It exists only
// to time the reference's arithmetic on the machine the benchmark runs on, so that quantbench
// can be compared with it in one run; it omits the interpreter and dispatch overhead of the
// ~20 PyTorch calls per column, so it is a lower bound of the reference's own time.
//
//   add_batch:    H ← (N/(N+n))·H;  X ← √(2/(N+n))·X (a scaled copy);
//                 P = XᵀX (torch.matmul → one dense sgemm into a new tensor);  H += P
//   fasterquant:  H = cholesky(H); H = cholesky_inverse(H); H = cholesky(H, upper=True)
//                 (spotrf, spotri, spotrf), then per block of 128 columns and per column i:
//                 find_params when a group starts, q = quantize(w), err = (w − q)/d,
//                 W1[:, i:] −= err · Hinv1[i, i:] (torch outer-product matmul → sger), and
//                 W[:, i2:] −= Err1 · Hinv[i1:i2, i2:] (sgemm) after each block.

#include "core/util/matrix.h"

namespace qb::bench {

/// H [in, in] += scaled XᵀX as the reference's add_batch does, for X [n, in] row-major
/// (the reference's inp.t() is X's column-major view). nsamples is updated.
void referenceAddBatch(const qb::core::MatrixRM& X, qb::core::MatrixRM& H, long& nsamples);

/// Seconds of the reference's fasterquant phases on W [out, in] (a copy is quantized).
struct ReferenceTimes {
    double cholesky = 0.0;  ///< damping + cholesky + cholesky_inverse + cholesky(upper)
    double sweep = 0.0;     ///< the column loop with its lazy block updates
};
[[nodiscard]] ReferenceTimes referenceFasterQuant(const qb::core::MatrixRM& W, const qb::core::MatrixRM& H, int bits,
                                                  int groupSize, int blockSize = 128, double percdamp = 0.01);

}  // namespace qb::bench

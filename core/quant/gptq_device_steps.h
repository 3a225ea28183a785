#pragma once
// The device algorithm of GPTQ, RTN and inspect's RTN sensitivity forms (gpu/cuda_gptq.cpp,
// gpu/cuda_sensitivity.cpp), one row or one element at a time.
//
// Each CUDA kernel of gpu/cuda/quant_kernels.cu is a thin wrapper that calls one of these
// QB_HD functions per thread, and each cuBLAS call takes its arguments from one of the
// ColumnMajorGemm descriptors below. CI has no GPU, so tests/core/quant/test_gptq_device_steps
// runs the same functions in host loops — the device algorithm emulated on the CPU — and
// checks it against the CPU reference (core/quant/gptq.cpp): the indexing, the layouts, the
// group fitting and the GEMM arguments are tested here; what only a device can test is the
// launch configuration and the libraries' arithmetic (`quantbench-cli selftest`).
//
// Layouts (row-major unless said otherwise):
//   W      [out, n]  weights of one linear, original column order
//   Wt     [n, out]  the sweep's transposed, column-permuted working copy: row i is column
//                    perm[i] of W (0 for dead columns), so consecutive threads j touch
//                    consecutive addresses
//   U      [n, n]    upper Cholesky factor of (H' + λI)⁻¹, processing order
//   E      [B, out]  the block's scaled errors
//   codesT [n, out]  codes in processing order; codes [out, n] after the scatter
//   scales, zeros    [out, groups]

#include <cstddef>
#include <cstdint>

#include "core/quant/grid_math.h"
#include "core/util/host_device.h"

namespace qb::core::gptq_device {

/// A[i, j] of A = J·(H'+λI)·J: H[perm[n−1−i], perm[n−1−j]] off the diagonal, diag[n−1−i] on
/// it (diag: H' + λ in processing order). Its lower Cholesky factor gives U (hessian_inverse.h, eq. 1).
QB_HD inline double reversedHessianAt(const double* H, const std::int32_t* perm, const double* diag, int n, int i, int j) {
    if (i == j) return diag[n - 1 - i];
    return H[std::size_t(perm[n - 1 - i]) * std::size_t(n) + std::size_t(perm[n - 1 - j])];
}

/// True when the pivot L_jj of A's factor shows A singular to working precision: not a
/// positive finite number, or L_jj² < minRelativePivot · A_jj (as hessian_inverse.cpp).
QB_HD inline bool pivotFails(double l, double a, double minRelativePivot) {
    return !(l > 0.0 && l <= 1.7976931348623157e308) || l * l < minRelativePivot * a;
}

/// U[i, j] = L̃⁻¹[n−1−i, n−1−j] for j ≥ i, 0 below (U = J·L̃⁻¹·J), from the column-major
/// lower inverse Linv that a LAPACK-style trtri leaves (its strict upper part is not read).
QB_HD inline float upperFactorAt(const double* LinvColumnMajor, int n, int i, int j) {
    if (j < i) return 0.0f;
    return float(LinvColumnMajor[std::size_t(n - 1 - j) * std::size_t(n) + std::size_t(n - 1 - i)]);
}

/// Wt[i, j] = dead[perm[i]] ? 0 : W[j, perm[i]].
QB_HD inline float permutedTransposeAt(const float* W, const std::int32_t* perm, const std::uint8_t* dead, int n, int i, int j) {
    const int c = perm[i];
    return dead[c] ? 0.0f : W[std::size_t(j) * std::size_t(n) + std::size_t(c)];
}

/// Where codesT[i, j] goes in codes [out, n]: row j, column perm[i].
QB_HD inline std::size_t scatteredCodeIndex(const std::int32_t* perm, int n, int i, int j) {
    return std::size_t(j) * std::size_t(n) + std::size_t(perm[i]);
}

/// RTN of group k of row r of W [out, n] (QuantGrid::fit then gridCode): the group's min and
/// max (dead columns, when dead is not null, count as 0, as GPTQ's static groups see them),
/// its grid into scales/zeros [out, groups], and its codes when codes is not null.
QB_HD inline void rtnGroup(const float* W, const std::uint8_t* dead, int n, int groupCols, int groups, int maxq, bool sym,
                           float* scales, std::int32_t* zeros, std::uint8_t* codes, int r, int k) {
    const int c0 = k * groupCols;
    const int c1 = n < c0 + groupCols ? n : c0 + groupCols;
    const float* w = W + std::size_t(r) * std::size_t(n);
    float lo = INFINITY, hi = -INFINITY;
    for (int c = c0; c < c1; ++c) {
        const float x = dead && dead[c] ? 0.0f : w[c];
        lo = x < lo ? x : lo;  // std::min(lo, x)
        hi = hi < x ? x : hi;  // std::max(hi, x)
    }
    if (c1 <= c0) lo = hi = 0.0f;
    const GroupParams p = gridParamsForRange(lo, hi, maxq, sym);
    scales[std::size_t(r) * std::size_t(groups) + std::size_t(k)] = p.scale;
    zeros[std::size_t(r) * std::size_t(groups) + std::size_t(k)] = std::int32_t(p.zero);
    if (!codes) return;
    for (int c = c0; c < c1; ++c)
        codes[std::size_t(r) * std::size_t(n) + std::size_t(c)] = std::uint8_t(gridCode(w[c], p.scale, p.zero, float(maxq)));
}

/// Ŵ[r, c] = scales[r, g]·(codes[r, c] − zeros[r, g]) with g = c / groupCols (groups per row).
QB_HD inline float dequantizedAt(const std::uint8_t* codes, const float* scales, const std::int32_t* zeros, int n, int groupCols,
                                 int groups, int r, int c) {
    const std::size_t g = std::size_t(r) * std::size_t(groups) + std::size_t(c / groupCols);
    return gridValue(float(codes[std::size_t(r) * std::size_t(n) + std::size_t(c)]), scales[g], float(zeros[g]));
}

/// D[r, c] = W[r, c] − Ŵ[r, c]: the RTN residual whose output energy the sensitivity forms measure.
QB_HD inline float rtnResidualAt(const float* W, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros,
                                 int n, int groupCols, int groups, int r, int c) {
    return W[std::size_t(r) * std::size_t(n) + std::size_t(c)] - dequantizedAt(codes, scales, zeros, n, groupCols, groups, r, c);
}

/// AWQ's residual (paper eq. 4): D[r, c] = W[r, c] − Ŵs[r, c] / s[c], where Ŵs is the RTN of
/// W·diag(s) (codes, scales, zeros as rtnResidualAt), and Ws[r, c] = W[r, c]·s[c] its input.
QB_HD inline float awqScaledWeightAt(const float* W, const float* s, int n, int r, int c) {
    return W[std::size_t(r) * std::size_t(n) + std::size_t(c)] * s[c];
}
QB_HD inline float awqResidualAt(const float* W, const float* s, const std::uint8_t* codes, const float* scales,
                                 const std::int32_t* zeros, int n, int groupCols, int groups, int r, int c) {
    return W[std::size_t(r) * std::size_t(n) + std::size_t(c)] - dequantizedAt(codes, scales, zeros, n, groupCols, groups, r, c) / s[c];
}

/// What the sweep of one block reads and writes (device pointers on the GPU).
struct BlockArgs {
    float* Wt = nullptr;               ///< [n, out]
    const float* U = nullptr;          ///< [n, n]
    float* E = nullptr;                ///< [B, out]
    std::uint8_t* codesT = nullptr;    ///< [n, out]
    float* scales = nullptr;           ///< [out, groups]
    std::int32_t* zeros = nullptr;     ///< [out, groups]
    const std::int32_t* perm = nullptr;///< [n]
    double* rowLoss = nullptr;         ///< [out], Σ e² accumulated over blocks
    int out = 0;
    int n = 0;
    int groups = 0;
    int groupCols = 0;                 ///< columns per group (n when one group per row)
    int maxq = 15;
    bool sym = false;
    bool staticGroups = false;         ///< scales/zeros fitted before the sweep (original order)
    int i1 = 0;                        ///< the block's columns [i1, i2), processing order
    int i2 = 0;
};

/// Alg. 1, lines 5–9 for columns [i1, i2) of row j of W: quantize the block's columns in
/// order, fitting a group's grid when one starts (on the current weights; columns beyond i2
/// get the pending lazy update −Σ_m U[m, l]·E[m] on the fly, as the CPU's fitGroup), write
/// codes and E, and update the block's later columns. Columns ≥ i2 are the caller's GEMM
/// (lazyUpdateGemm). Rows are independent: one thread (or host loop iteration) per row.
QB_HD inline void sweepBlockRow(const BlockArgs& a, int j) {
    const std::size_t out = std::size_t(a.out);
    const std::size_t n = std::size_t(a.n);
    const std::size_t row = std::size_t(j) * std::size_t(a.groups);
    const float maxq = float(a.maxq);
    float scale = 1.0f, zero = 0.0f;
    if (!a.staticGroups && a.i1 % a.groupCols != 0) {  // the group began in an earlier block
        scale = a.scales[row + std::size_t(a.i1 / a.groupCols)];
        zero = float(a.zeros[row + std::size_t(a.i1 / a.groupCols)]);
    }
    double loss = 0.0;
    for (int i = a.i1; i < a.i2; ++i) {
        if (a.staticGroups) {  // reference: quantizer = groups[perm[i] // groupsize]
            const std::size_t k = std::size_t(a.perm[i] / a.groupCols);
            scale = a.scales[row + k];
            zero = float(a.zeros[row + k]);
        } else if (i % a.groupCols == 0) {  // a group starts: fit it to the current weights
            const int ge = a.n < i + a.groupCols ? a.n : i + a.groupCols;
            float lo = INFINITY, hi = -INFINITY;
            for (int l = i; l < (a.i2 < ge ? a.i2 : ge); ++l) {
                const float x = a.Wt[std::size_t(l) * out + std::size_t(j)];
                lo = lo < x ? lo : x;
                hi = hi < x ? x : hi;
            }
            for (int l = a.i2; l < ge; ++l) {
                float x = a.Wt[std::size_t(l) * out + std::size_t(j)];
                for (int m = a.i1; m < i; ++m)
                    x -= a.U[std::size_t(m) * n + std::size_t(l)] * a.E[std::size_t(m - a.i1) * out + std::size_t(j)];
                lo = lo < x ? lo : x;
                hi = hi < x ? x : hi;
            }
            const GroupParams p = gridParamsForRange(lo, hi, a.maxq, a.sym);
            scale = p.scale;
            zero = p.zero;
            a.scales[row + std::size_t(i / a.groupCols)] = scale;
            a.zeros[row + std::size_t(i / a.groupCols)] = std::int32_t(zero);
        }
        // Alg. 1, lines 7–8: q = quant(w);  e = (w − q) / [H⁻¹]_ii
        const float d = a.U[std::size_t(i) * n + std::size_t(i)];
        float code;
        const float e = gptqColumnStep(a.Wt[std::size_t(i) * out + std::size_t(j)], scale, zero, maxq, d, code);
        a.codesT[std::size_t(i) * out + std::size_t(j)] = std::uint8_t(code);
        a.E[std::size_t(i - a.i1) * out + std::size_t(j)] = e;
        loss += double(e) * double(e);
        // Alg. 1, line 9: W[:, i:B] −= E[:, i] · H⁻¹[i, i:B]  (inside the block)
        const float* u = a.U + std::size_t(i) * n;
        for (int l = i + 1; l < a.i2; ++l) a.Wt[std::size_t(l) * out + std::size_t(j)] -= u[l] * e;
    }
    a.rowLoss[j] += loss;
}

/// The arguments of one column-major SGEMM, C = α·op(A)·op(B) + β·C, with element offsets
/// into the operand buffers (cuBLAS's convention; the emulation applies it with a plain loop).
struct ColumnMajorGemm {
    bool transA = false, transB = false;
    int m = 0, n = 0, k = 0;
    float alpha = 1.0f, beta = 0.0f;
    std::size_t offsetA = 0, offsetB = 0, offsetC = 0;
    int lda = 0, ldb = 0, ldc = 0;
};

/// Alg. 1, line 11 after block [i1, i2): Wt[i2:, :] −= U[i1:i2, i2:]ᵀ · E. Column-major views:
/// Wtᶜ [out, n] (ld out), Eᶜ [out, B] (ld out), and U[i1:i2, i2:] is the block at (i2, i1) of
/// Uᶜ = Uᵀ (ld n): Wtᶜ[:, i2:] −= Eᶜ · (Uᶜ[i2:, i1:i2])ᵀ. A = E, B = U, C = Wt.
inline ColumnMajorGemm lazyUpdateGemm(int out, int n, int i1, int i2) {
    ColumnMajorGemm g;
    g.transA = false;
    g.transB = true;
    g.m = out;
    g.n = n - i2;
    g.k = i2 - i1;
    g.alpha = -1.0f;
    g.beta = 1.0f;
    g.offsetB = std::size_t(i1) * std::size_t(n) + std::size_t(i2);
    g.offsetC = std::size_t(i2) * std::size_t(out);
    g.lda = out;
    g.ldb = n;
    g.ldc = out;
    return g;
}

/// T = W'·H for tr(W' H W'ᵀ) (H symmetric): column-major Tᶜ [n, out] = H [n, n] · W'ᶜ [n, out].
/// A = H (float), B = W' [out, n] row-major, C = T [out, n] row-major.
inline ColumnMajorGemm referenceProductGemm(int out, int n) {
    ColumnMajorGemm g;
    g.m = n;
    g.n = out;
    g.k = n;
    g.lda = n;
    g.ldb = n;
    g.ldc = n;
    return g;
}

/// T = D·Xᵀ for ‖D Xᵀ‖²_F with the calibration inputs X [tokens, n] kept (row-major):
/// column-major Tᶜ [tokens, out] (ld tokens) = (Xᶜ)ᵀ · Dᶜ, Xᶜ = Xᵀ [n, tokens] and Dᶜ = Dᵀ
/// [n, out] (ld n). A = X, B = D, C = T [out, tokens] row-major.
inline ColumnMajorGemm inputProductGemm(int out, int n, int tokens) {
    ColumnMajorGemm g;
    g.transA = true;
    g.m = tokens;
    g.n = out;
    g.k = n;
    g.lda = n;
    g.ldb = n;
    g.ldc = tokens;
    return g;
}

}  // namespace qb::core::gptq_device

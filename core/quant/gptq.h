#pragma once
// GPTQ — Frantar, Ashkboos, Hoefler, Alistarh, "GPTQ: Accurate Post-Training Quantization for
// Generative Pre-trained Transformers" (ICLR 2023), Algorithm 1, following the reference
// implementation IST-DASLab/gptq (gptq.py, fasterquant).
//
// Symbols (paper → code):
//   W     [out, in]  weights of one linear (row-major);  Q the quantized weights
//   H     [in, in]   Hessian of the layer objective ‖W X − Ŵ X‖², H = 2 X Xᵀ (X: inputs as
//                    columns). We use the reference's running average H = (2/N) Σ x xᵀ over N
//                    token rows (see accumulateHessian); any positive multiple of H gives the
//                    same Q, because damping is relative to mean(diag H).
//   λ              dampening, dampPercent · mean(diag H), added to the diagonal
//   Hinv  [in, in]   the upper Cholesky factor U of H⁻¹ (Alg. 1, line 3: H⁻¹ ← Cholesky(H⁻¹)ᵀ)
//   E     [B, out]   the scaled quantization errors of the current block (Alg. 1, line 8)
//   B              the lazy-batch block width (blockSize)

#include <optional>
#include <string>
#include <vector>

#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"
#include "core/util/matrix.h"
#include "core/util/run_context.h"

namespace qb::core {

/// What happened during one GPTQ run; numerical outcomes are data, not errors.
struct GptqReport {
    double damping = 0.0;     ///< λ finally added to diag(H)
    int dampingRetries = 0;   ///< times λ was multiplied by 10 because the Cholesky factorisation failed
    int deadColumns = 0;      ///< input columns with H_jj = 0 (weights set to 0, H_jj set to 1)
    /// tr(ΔW H ΔWᵀ) with ΔW = W − Ŵ and the H given (undamped): the layer objective
    /// ‖W X − Ŵ X‖² up to H's scaling. Computed from the sweep's errors (ΔW = E·U exactly, so
    /// tr(ΔW (H+λI) ΔWᵀ) = ‖E‖²) minus λ‖ΔW‖².
    double objective = 0.0;
    /// tr(W H Wᵀ), the same norm of W itself. Exact for up to 512 output rows; for taller
    /// layers a ratio estimate from 512 evenly spaced rows, ‖W‖²_F · Σ_s w(H+λI)wᵀ / Σ_s ‖w‖² − λ‖W‖²_F
    /// (an exact value would cost as much as the sweep), see objectiveReferenceEstimated.
    double objectiveReference = 0.0;
    bool objectiveReferenceEstimated = false;
    double objectiveRelative = 0.0;   ///< objective / objectiveReference (0 when the reference is 0)
    bool factorInFloat = false;       ///< H⁻¹'s factor came from spotrf/strtri (see GptqFactorMode)
    double secondsPrepare = 0.0;      ///< dead columns, permutation, static groups, damping
    double secondsCholesky = 0.0;     ///< Hinv = upper Cholesky factor of H⁻¹ (all attempts), with the sampled ‖W‖²_H read from L̃ on the way
    double secondsSweep = 0.0;        ///< the column sweep with lazy block updates
    double secondsObjective = 0.0;    ///< objective and tr(W H Wᵀ) from the sampled norms
    double secondsTotal = 0.0;
};

struct GptqResult {
    QuantizedWeight weight;
    GptqReport report;
};

// The steps of quantizeGptq that every implementation shares (the CPU path below and the
// CUDA one of gpu/, which must agree on them exactly).

/// The Hessian in processing order, with dead inputs fixed (reference: H[dead, dead] = 1):
/// H'(i, j) = H(perm[i], perm[j]) off the diagonal and diagP[i] on it. H' is never formed.
struct GptqHessianPrep {
    std::vector<Index> perm;  ///< perm[i] = original column processed i-th
    VectorD diagP;            ///< [in], H'(i, i), undamped
    std::vector<char> dead;   ///< by original column: H_jj == 0
    int deadCount = 0;
    double meanDiag = 0.0;    ///< mean of diag(H) after the dead fix; λ = dampPercent · meanDiag
};
/// Dead columns, the act-order permutation (stable argsort of diag(H), descending) and
/// the diagonal in processing order. Throws Error when H holds NaN or infinities.
[[nodiscard]] GptqHessianPrep prepareGptqHessian(const Eigen::Ref<const MatrixRMd>& H, bool actOrder);
/// Times λ is increased after a failed factorisation before GPTQ gives up.
inline constexpr int kGptqMaxDampingRetries = 10;
/// The damping after a failed factorisation: 10·λ, or 1e-4·mean(diag H) when λ was 0.
[[nodiscard]] double nextGptqDamping(double lambda, double meanDiag);
/// The error thrown when kGptqMaxDampingRetries increases did not make H' + λI factorable.
[[nodiscard]] Error gptqDampingExhausted(double lambda);
/// Throws Error on a Hessian of the wrong size or bad options (block size, damping, group).
void checkGptqInputs(const ConstMatrixRef& W, Index hRows, Index hCols, const WeightGridSpec& spec, const GptqOptions& options);

/// The precision of the factorisation of H' + λI (hessian_inverse.h).
enum class GptqFactorMode {
    /// Float (spotrf + strtri, as the reference runs its whole factorisation in float32, at
    /// about half the double time) for layers of at least kGptqFloatFactorMinColumns inputs,
    /// falling back to Double at the same λ when the float factor fails its pivot test;
    /// Double below, where the factorisation is cheap (and the CPU stays bit-identical to the
    /// device path of gpu/). Measured with test_gptq's inputs (8 seeds, 1,024-input layers
    /// of 8-factor correlated inputs, κ ≈ 1e5 after 1 % damping): the float factor moves the
    /// codes' ‖(W − Ŵ)Xᵀ‖² by −0.74 … +0.97 %, mean +0.21 % (standard error 0.19 %), where
    /// perturbing H by 1e-7 of itself — the rounding its float accumulation carries — moves
    /// it by −0.55 … +0.22 %; GPTQ's gain over RTN on these layers is 40×.
    Auto,
    Double,  ///< always dpotrf + dtrtri
};
inline constexpr Index kGptqFloatFactorMinColumns = 1024;

/// Quantizes W [out, in] (row-major) with GPTQ given H [in, in] (symmetric positive
/// semi-definite, row-major, double). Groups follow the reference: with act-order and
/// dynamic groups they are formed in the permuted order (g_idx[perm[i]] = i / groupSize);
/// with staticGroups they are fitted on W before the sweep in the original column order.
/// A group's grid is fitted, when the group starts, to the current (already updated)
/// weights of its columns. Runs on threadCount() threads (rows are independent); polls
/// ctx once per block and reports progress. Throws Error on shape mismatch, bad options,
/// a non-finite H, or a Cholesky failure that 10 damping increases do not cure;
/// throws Cancelled when ctx asks to stop.
[[nodiscard]] GptqResult quantizeGptq(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H, const WeightGridSpec& spec,
                                      const GptqOptions& options, const RunContext& ctx = RunContext(),
                                      GptqFactorMode factorMode = GptqFactorMode::Auto);
/// The same with a float Hessian (converted to double first).
[[nodiscard]] GptqResult quantizeGptq(const ConstMatrixRef& W, const ConstMatrixRef& H, const WeightGridSpec& spec,
                                      const GptqOptions& options, const RunContext& ctx = RunContext());

/// Adds a batch of inputs X [n, in] (token rows) to the running Hessian H [in, in]:
///   H ← (nsamples / (nsamples + n)) · H + (2 / (nsamples + n)) · Xᵀ X,   nsamples += n
/// (the reference's add_batch, except that it counts sequences where we count token rows:
/// a constant factor that GPTQ ignores). With nsamples == 0, H is (re)sized to [in, in] and
/// zeroed. Uses backendFor(Gram). Throws Error if H has another size while nsamples > 0.
void accumulateHessian(const ConstMatrixRef& X, MatrixRMd& H, long& nsamples);

}  // namespace qb::core

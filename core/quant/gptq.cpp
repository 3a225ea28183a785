#include "core/quant/gptq.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <numeric>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/quant/hessian_inverse.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr Index kObjectivePanel = 256;
constexpr Index kReferenceRows = 512;
constexpr Index kTile = 16;  // rows of W moved together between [out, in] and the transposed slices  // rows used to estimate tr(W H Wᵀ) of taller layers

// Alg. 1, line 3 with damping: Hinv = Cholesky((H' + λI)⁻¹)ᵀ; λ ×10 until it succeeds.
// Float first where GptqFactorMode::Auto says so; a float failure retries in double at the
// same λ, so that float rounding never changes the damping.
void factorWithDamping(const Eigen::Ref<const MatrixRMd>& H, const GptqHessianPrep& P, double lambda, GptqFactorMode mode,
                       GptqReport& report, InverseHessianFactor& f, const LowerFactorVisitor& visitLrev) {
    bool tryFloat = mode == GptqFactorMode::Auto && H.rows() >= kGptqFloatFactorMinColumns;
    for (int attempt = 0;; ++attempt) {
        const VectorD damped = P.diagP.array() + lambda;
        if (tryFloat && upperCholeskyOfInverse(H, P.perm, damped, f, FactorPrecision::Float, visitLrev)) {
            report.factorInFloat = true;
            report.damping = lambda;
            report.dampingRetries = attempt;
            return;
        }
        tryFloat = false;  // once float failed, stay in double for the larger λ too
        if (upperCholeskyOfInverse(H, P.perm, damped, f, FactorPrecision::Double, visitLrev)) {
            report.damping = lambda;
            report.dampingRetries = attempt;
            return;
        }
        if (attempt == kGptqMaxDampingRetries) throw gptqDampingExhausted(lambda);
        lambda = nextGptqDamping(lambda, P.meanDiag);
    }
}

// Everything the per-slice sweep reads; the slices write disjoint rows of Q.
struct Sweep {
    const ConstMatrixRef& W;         // [out, in], original
    const GptqHessianPrep& P;
    const MatrixRM& U;               // Hinv: [in, in], upper
    QuantGrid grid;
    Index groupCols;                 // g (in when one group per row)
    bool staticGroups;
    Index B;                         // block width
    QuantizedWeight& Q;
};

// Wt: [in, ms] — rows rowOf(0..ms−1) of W, transposed, columns permuted, dead inputs zeroed:
// column j of W is row j of Wt, so the per-column work below is contiguous over rows of W.
template <class RowOf>
MatrixRM gatherRows(const Sweep& S, Index ms, RowOf rowOf) {
    const Index n = S.W.cols();
    MatrixRM Wt(n, ms);
    // Tiles of kTile rows of W: their [n]-rows stay in cache while row i of Wt gets kTile
    // consecutive values (one cache line), instead of one strided write per element.
    for (Index j0 = 0; j0 < ms; j0 += kTile) {
        const Index tj = std::min(kTile, ms - j0);
        const float* src[kTile];
        for (Index j = 0; j < tj; ++j) src[j] = S.W.row(rowOf(j0 + j)).data();
        for (Index i = 0; i < n; ++i) {
            const Index c = S.P.perm[std::size_t(i)];
            float* dst = Wt.row(i).data() + j0;
            if (S.P.dead[std::size_t(c)])
                for (Index j = 0; j < tj; ++j) dst[j] = 0.0f;
            else
                for (Index j = 0; j < tj; ++j) dst[j] = src[j][c];
        }
    }
    return Wt;
}

MatrixRM gatherSlice(const Sweep& S, Index r0, Index ms) {
    return gatherRows(S, ms, [r0](Index j) { return r0 + j; });
}

// Fits the grid of the group that starts at column i (ends at ge) to the current weights:
// rows [i, i2) of Wt are up to date; rows [i2, ge) still lack the block's pending update
// −U[i1:i, i2:ge]ᵀ · E[0:i−i1] (lazy batch), which is applied to a copy here.
void fitGroup(const Sweep& S, const MatrixRM& Wt, const MatrixRM& E, Index i, Index i1, Index i2, Index ge,
              Eigen::VectorXf& scale, Eigen::VectorXf& zero) {
    const Index ms = Wt.cols();
    Eigen::RowVectorXf lo = Eigen::RowVectorXf::Constant(ms, std::numeric_limits<float>::infinity());
    Eigen::RowVectorXf hi = -lo;
    for (Index l = i; l < std::min(i2, ge); ++l) {
        lo = lo.cwiseMin(Wt.row(l));
        hi = hi.cwiseMax(Wt.row(l));
    }
    if (ge > i2) {
        MatrixRM pending = Wt.middleRows(i2, ge - i2);
        if (i > i1) pending.noalias() -= S.U.block(i1, i2, i - i1, ge - i2).transpose() * E.topRows(i - i1);
        lo = lo.cwiseMin(pending.colwise().minCoeff());
        hi = hi.cwiseMax(pending.colwise().maxCoeff());
    }
    for (Index j = 0; j < ms; ++j) {
        const GroupParams p = S.grid.paramsForRange(lo[j], hi[j]);
        scale[j] = p.scale;
        zero[j] = p.zero;
    }
}

// GPTQ on rows [r0, r0+ms) of W (Alg. 1 restricted to those rows; rows are independent).
// Returns ‖E‖² summed over all columns, i.e. tr(ΔW (H+λI) ΔWᵀ) of these rows.
double sweepSlice(const Sweep& S, Index r0, Index ms, const std::function<bool()>& blockDone) {
    const Index n = S.W.cols();
    const float maxq = float(S.grid.maxq());
    MatrixRM Wt = gatherSlice(S, r0, ms);  // W: [in, ms] (transposed slice)
    CodeMatrix codesT(n, ms);              // Q codes, transposed
    MatrixRM E(S.B, ms);                   // E: [B, ms]
    Eigen::VectorXf scale(ms), zero(ms);
    double loss = 0.0;
    for (Index i1 = 0; i1 < n; i1 += S.B) {
        const Index i2 = std::min(i1 + S.B, n);
        for (Index i = i1; i < i2; ++i) {
            const Index c = S.P.perm[std::size_t(i)];
            if (S.staticGroups) {  // reference: quantizer = groups[perm[i] // groupsize]
                const Index k = c / S.groupCols;
                for (Index j = 0; j < ms; ++j) {
                    scale[j] = S.Q.scales(r0 + j, k);
                    zero[j] = float(S.Q.zeros(r0 + j, k));
                }
            } else if (i % S.groupCols == 0) {  // a group starts: fit it to the current weights
                const Index k = i / S.groupCols;
                fitGroup(S, Wt, E, i, i1, i2, std::min(n, i + S.groupCols), scale, zero);
                for (Index j = 0; j < ms; ++j) {
                    S.Q.scales(r0 + j, k) = scale[j];
                    S.Q.zeros(r0 + j, k) = std::int32_t(zero[j]);
                }
            }
            // Alg. 1, lines 7–8: Q[:, i] = quant(W[:, i]);  E[:, i] = (W[:, i] − Q[:, i]) / [H⁻¹]_ii
            const float d = S.U(i, i);
            float* w = Wt.row(i).data();
            float* e = E.row(i - i1).data();
            std::uint8_t* q = codesT.row(i).data();
            for (Index j = 0; j < ms; ++j) {
                float code;
                e[j] = gptqColumnStep(w[j], scale[j], zero[j], maxq, d, code);  // shared with gpu/
                q[j] = std::uint8_t(code);
            }
            loss += double(E.row(i - i1).squaredNorm());
            // Alg. 1, line 9: W[:, i:B] −= E[:, i] · H⁻¹[i, i:B]  (inside the block)
            for (Index l = i + 1; l < i2; ++l) Wt.row(l).noalias() -= S.U(i, l) * E.row(i - i1);
        }
        // Alg. 1, line 11: W[:, B:] −= E · H⁻¹[block, B:]  (lazy batch update, one GEMM):
        // Wt[i2:, :] −= U[i1:i2, i2:]ᵀ · E[0:i2−i1, :]
        if (i2 < n)
            gemmRowMajor(true, false, int(n - i2), int(ms), int(i2 - i1), -1.0f, &S.U(i1, i2), int(S.U.cols()), E.data(),
                         int(ms), 1.0f, Wt.row(i2).data(), int(ms));
        if (!blockDone()) return loss;
    }
    for (Index j0 = 0; j0 < ms; j0 += kTile)  // scatter back, tiled like gatherRows
        for (Index i = 0; i < n; ++i) {
            const Index c = S.P.perm[std::size_t(i)];
            for (Index j = j0; j < std::min(j0 + kTile, ms); ++j) S.Q.codes(r0 + j, c) = codesT(i, j);
        }
    return loss;
}

// Static groups (reference static_groups): every group's grid fitted on W (dead inputs
// zeroed) before the sweep, in the original column order.
void fitStaticGroups(const ConstMatrixRef& W, const GptqHessianPrep& P, const QuantGrid& grid, Index g, QuantizedWeight& Q) {
    const Index n = W.cols();
#pragma omp parallel for num_threads(threadCount()) schedule(static)
    for (Index r = 0; r < W.rows(); ++r) {
        Eigen::RowVectorXf w = W.row(r);
        for (Index c = 0; c < n; ++c)
            if (P.dead[std::size_t(c)]) w[c] = 0.0f;
        for (Index k = 0; k < Q.groups(); ++k) {
            const GroupParams p = grid.fit(w.data() + k * g, std::min(g, n - k * g));
            Q.scales(r, k) = p.scale;
            Q.zeros(r, k) = std::int32_t(p.zero);
        }
    }
}

Index sliceWidth(Index out, int threads) {
    const Index perThread = (out + threads - 1) / threads;
    return std::clamp<Index>((perThread + 15) / 16 * 16, 16, 256);
}

// Σ_rows w (H'+λI) wᵀ in processing order = ‖Lrevᵀ · J · Wt‖² (J·(H'+λI)·J = Lrev·Lrevᵀ) and
// Σ_rows ‖w‖² over the rows sampled: all rows up to kReferenceRows, else kReferenceRows evenly
// spaced ones (the exact value costs as much as the sweep's GEMMs).
std::pair<double, double> dampedReferenceNorms(const Sweep& S, const MatrixRM& Lrev) {
    const Index out = S.W.rows();
    const Index rows = std::min(out, kReferenceRows);
    const Index slice = 64;
    const Index slices = (rows + slice - 1) / slice;
    double damped = 0.0, plain = 0.0;
#pragma omp parallel for num_threads(threadCount()) schedule(dynamic, 1) reduction(+ : damped, plain)
    for (Index s = 0; s < slices; ++s) {
        const Index j0 = s * slice;
        const MatrixRM Wt = gatherRows(S, std::min(slice, rows - j0), [&](Index j) { return (j0 + j) * out / rows; });
        plain += double(Wt.squaredNorm());
        const MatrixRM Wrev = Wt.colwise().reverse();
        // Lrevᵀ is upper triangular and stored densely (zeros below the diagonal), so each
        // row panel is one GEMM over the columns from its diagonal on.
        const Index n = Wrev.rows();
        MatrixRM M(std::min(kObjectivePanel, n), Wrev.cols());
        for (Index i0 = 0; i0 < n; i0 += kObjectivePanel) {
            const Index b = std::min(kObjectivePanel, n - i0);
            M.topRows(b).noalias() = Lrev.block(i0, i0, n - i0, b).transpose() * Wrev.bottomRows(n - i0);
            damped += double(M.topRows(b).squaredNorm());
        }
    }
    return {damped, plain};
}

// Runs sweepSlice over row slices on threadCount() threads; returns Σ‖E‖² of all rows.
// Thread 0 (the caller's thread) reports progress and polls ctx once per block.
double runSweep(const Sweep& S, const RunContext& ctx) {
    const Index out = S.W.rows();
    const int threads = threadCount();
    const Index slice = sliceWidth(out, threads);
    const Index slices = (out + slice - 1) / slice;
    const Index blocksPerSlice = (S.W.cols() + S.B - 1) / S.B;
    std::atomic<long> blocksDone{0};
    std::atomic<bool> stop{false};
    double loss = 0.0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : loss)
    for (Index s = 0; s < slices; ++s) {
        const auto blockDone = [&] {
            const long done = ++blocksDone;
            if (omp_get_thread_num() == 0) {
                if (ctx.stopRequested()) stop = true;
                ctx.progress(double(done) / double(slices * blocksPerSlice), "GPTQ sweep");
            }
            return !stop.load(std::memory_order_relaxed);
        };
        if (stop.load()) continue;
        loss += sweepSlice(S, s * slice, std::min(slice, out - s * slice), blockDone);
    }
    ctx.throwIfStopped();
    return loss;
}

// Objective: ΔW' = E·U row by row, so tr(ΔW' (H+λI) ΔW'ᵀ) = ‖E‖² = loss and
// tr(ΔW H ΔWᵀ) = loss − λ‖ΔW'‖² (W' = W with dead inputs zeroed; H has no weight on them).
// referenceNorms: dampedReferenceNorms(S, L̃) of the factorisation the sweep used.
void fillObjective(const Sweep& S, std::pair<double, double> referenceNorms, double loss, GptqReport& report) {
    const Index out = S.W.rows(), n = S.W.cols();
    Eigen::RowVectorXf live(n);
    for (Index c = 0; c < n; ++c) live[c] = S.P.dead[std::size_t(c)] ? 0.0f : 1.0f;
    double dwNorm = 0.0, wNorm = 0.0;  // ‖ΔW'‖², ‖W'‖²
#pragma omp parallel num_threads(threadCount())
    {
        Eigen::RowVectorXf what(n);  // one row of Ŵ at a time (no [out, in] copy)
#pragma omp for schedule(static) reduction(+ : dwNorm, wNorm)
        for (Index r = 0; r < out; ++r) {
            S.Q.dequantizeRow(r, what.data());
            dwNorm += double((S.W.row(r) - what).cwiseProduct(live).squaredNorm());
            wNorm += double(S.W.row(r).cwiseProduct(live).squaredNorm());
        }
    }
    report.objective = std::max(0.0, loss - report.damping * dwNorm);
    // tr(W H Wᵀ) = tr(W' (H+λI) W'ᵀ) − λ‖W'‖²; for sampled rows, a ratio estimate of the first term.
    const auto [dampedSampled, plainSampled] = referenceNorms;
    report.objectiveReferenceEstimated = out > kReferenceRows;
    const double damped =
        report.objectiveReferenceEstimated && plainSampled > 0.0 ? dampedSampled * wNorm / plainSampled : dampedSampled;
    report.objectiveReference = std::max(0.0, damped - report.damping * wNorm);
    report.objectiveRelative = report.objectiveReference > 0.0 ? report.objective / report.objectiveReference : 0.0;
}

}  // namespace

namespace {
// Every entry finite, one parallel pass without branches: x·0 is 0 for finite x and NaN for
// ±∞ and NaN (Eigen's allFinite ran at 1.3 GB/s on one thread, 0.1 s for a 4096-wide H).
bool allFiniteParallel(const Eigen::Ref<const MatrixRMd>& H) {
    bool finite = true;
#pragma omp parallel for num_threads(threadCount()) schedule(static) reduction(&& : finite)
    for (Index r = 0; r < H.rows(); ++r) {
        const double* h = H.row(r).data();
        double probe = 0.0;
        for (Index c = 0; c < H.cols(); ++c) probe += h[c] * 0.0;
        finite = finite && probe == 0.0;
    }
    return finite;
}
}  // namespace

GptqHessianPrep prepareGptqHessian(const Eigen::Ref<const MatrixRMd>& H, bool actOrder) {
    if (!allFiniteParallel(H)) throw Error("GPTQ: the Hessian contains NaN or infinite values");
    const Index n = H.rows();
    GptqHessianPrep P;
    VectorD diag = H.diagonal();
    P.dead.assign(std::size_t(n), 0);
    for (Index j = 0; j < n; ++j)
        if (diag[j] == 0.0) {
            P.dead[std::size_t(j)] = 1;
            diag[j] = 1.0;
            ++P.deadCount;
        }
    P.meanDiag = diag.mean();
    P.perm.resize(std::size_t(n));
    std::iota(P.perm.begin(), P.perm.end(), Index(0));
    // Act-order (reference: perm = argsort(diag(H), descending=True)); stable for determinism.
    if (actOrder)
        std::stable_sort(P.perm.begin(), P.perm.end(), [&](Index a, Index b) { return diag[a] > diag[b]; });
    P.diagP.resize(n);
    for (Index i = 0; i < n; ++i) P.diagP[i] = diag[P.perm[std::size_t(i)]];
    return P;
}

double nextGptqDamping(double lambda, double meanDiag) { return lambda > 0.0 ? 10.0 * lambda : 1e-4 * meanDiag; }

Error gptqDampingExhausted(double lambda) {
    return Error("GPTQ: the Hessian is not positive definite even with damping " + std::to_string(lambda));
}

void checkGptqInputs(const ConstMatrixRef& W, Index hRows, Index hCols, const WeightGridSpec& spec, const GptqOptions& options) {
    if (hRows != W.cols() || hCols != W.cols())
        throw Error("GPTQ: the Hessian is [" + std::to_string(hRows) + ", " + std::to_string(hCols) + "] for a weight with " +
                    std::to_string(W.cols()) + " input features");
    if (options.blockSize <= 0) throw Error("GPTQ: block size must be positive, got " + std::to_string(options.blockSize));
    if (options.dampPercent < 0.0) throw Error("GPTQ: damping percentage must not be negative");
    if (spec.groupSize && *spec.groupSize <= 0)
        throw Error("GPTQ: group size must be positive, got " + std::to_string(*spec.groupSize));
}

GptqResult quantizeGptq(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H, const WeightGridSpec& spec,
                        const GptqOptions& options, const RunContext& ctx, GptqFactorMode factorMode) {
    const auto tStart = Clock::now();
    checkGptqInputs(W, H.rows(), H.cols(), spec, options);
    const Index n = W.cols();
    GptqResult result{QuantizedWeight::allocate(W.rows(), n, spec), {}};
    GptqReport& report = result.report;
    QuantizedWeight& Q = result.weight;
    const QuantGrid grid(spec.bits, spec.sym);
    const Index g = groupWidth(n, spec.groupSize);
    const bool staticGroups = options.staticGroups && spec.groupSize.has_value();

    GptqHessianPrep P = prepareGptqHessian(H, options.actOrder);
    report.deadColumns = P.deadCount;
    if (staticGroups) fitStaticGroups(W, P, grid, g, Q);
    report.secondsPrepare = secondsSince(tStart);

    auto t0 = Clock::now();
    InverseHessianFactor F;
    const Sweep S{W, P, F.U, grid, g, staticGroups, Index(options.blockSize), Q};  // F.U is filled next
    // The objective's reference norms read L̃ where the factorisation leaves it, before the
    // triangular inverse overwrites it (no copy of L̃ is kept).
    std::pair<double, double> referenceNorms;
    factorWithDamping(H, P, options.dampPercent * P.meanDiag, factorMode, report, F,
                      [&](const MatrixRM& Lrev) { referenceNorms = dampedReferenceNorms(S, Lrev); });
    report.secondsCholesky = secondsSince(t0);
    ctx.throwIfStopped();

    t0 = Clock::now();
    const double loss = runSweep(S, ctx);
    if (!staticGroups && options.actOrder)  // g_idx[perm[i]] = i / groupsize
        for (Index i = 0; i < n; ++i) Q.gIdx[std::size_t(P.perm[std::size_t(i)])] = std::int32_t(i / g);
    report.secondsSweep = secondsSince(t0);

    t0 = Clock::now();
    fillObjective(S, referenceNorms, loss, report);
    report.secondsObjective = secondsSince(t0);
    report.secondsTotal = secondsSince(tStart);
    return result;
}

GptqResult quantizeGptq(const ConstMatrixRef& W, const ConstMatrixRef& H, const WeightGridSpec& spec, const GptqOptions& options,
                        const RunContext& ctx) {
    const MatrixRMd Hd = H.cast<double>();
    return quantizeGptq(W, Hd, spec, options, ctx);
}

void accumulateHessian(const ConstMatrixRef& X, MatrixRMd& H, long& nsamples) {
    const Index in = X.cols();
    const bool fresh = nsamples <= 0;
    if (fresh) {
        nsamples = 0;
    } else if (H.rows() != in || H.cols() != in) {
        throw Error("GPTQ Hessian: inputs have " + std::to_string(in) + " features, the Hessian is [" + std::to_string(H.rows()) +
                    ", " + std::to_string(H.cols()) + "]");
    }
    const Index n = X.rows();
    if (n == 0) {
        if (fresh) H = MatrixRMd::Zero(in, in);
        return;
    }
    // H_new = (old/total)·H + (2/total)·XᵀX
    const double old = double(nsamples);
    const double total = old + double(n);
    const Backend& backend = backendFor(BackendOp::Gram, in, n, in);
    if (backend.name() == "cpu") {  // one pass over H, the rescale fused into the tiles (cpu_backend.h)
        if (fresh) H.resize(in, in);
        accumulateGramScaled(X, H, fresh ? 0.0 : old / total, 2.0 / total);
    } else {
        if (fresh) H = MatrixRMd::Zero(in, in);
        H *= old / 2.0;
        backend.accumulateGram(X, H);
        H *= 2.0 / total;
    }
    nsamples += long(n);
}

}  // namespace qb::core

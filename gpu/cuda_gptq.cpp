// The quantization core on the device: GPTQ for one layer and RTN, with the layer resident.
//
// GPTQ (Frantar et al., Alg. 1), the CPU reference's steps (core/quant/gptq.cpp) on the device:
//   1. prepare    dead columns, act-order permutation, damping λ: core's prepareGptqHessian, on
//                 the host (O(in) work), so both paths choose the same perm and λ.
//   2. factor     A = J·(H'+λI)·J built on the device from H (uploaded once, FP64);
//                 A = L̃·L̃ᵀ (cusolverDnDpotrf, lower), L̃⁻¹ (cusolverDnXtrtri), U = J·L̃⁻¹·J in
//                 FP32 (core/quant/hessian_inverse.h, eq. 1). A failed potrf or a pivot below
//                 1e-12·A_jj retries with the CPU's damping schedule (nextGptqDamping).
//   3. sweep      per block of B columns: one kernel quantizes the block row-parallel (lines
//                 5–9, gpu/cuda/quant_kernels.cu), then SGEMM applies the lazy update (line 11)
//                 Wt[i2:, :] −= U[i1:i2, i2:]ᵀ · E.
//   4. objective  ‖E‖² from the sweep, ‖ΔW‖² and tr(W H Wᵀ) exactly (SGEMM W'·H) per row.
// Where the two paths differ: the lazy-update GEMM sums in another order than OpenBLAS's, and
// potrf/trtri round differently from the CPU's blocked Cholesky, so a weight can land on the
// other side of a rounding boundary; a layer that fits in one block (in ≤ B) has no lazy
// update and matches the CPU exactly unless a factor entry differs in its last float bit.
// `quantbench-cli selftest` measures the fraction of codes that differ.

#include <chrono>
#include <numeric>
#include <vector>

#include "core/quant/gptq_device_steps.h"
#include "core/quant/quant_grid.h"
#include "gpu/cuda/quant_kernels.cuh"
#include "gpu/cuda_backend_impl.h"

namespace qb::gpu {

using core::ConstMatrixRef;
using core::Error;
using core::GptqReport;
using core::GptqResult;
using core::Index;
using core::MatrixRMd;
using core::QuantizedWeight;
using detail::DeviceBuffer;

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr double kMinRelativePivot = 1e-12;  // as core/quant/hessian_inverse.cpp

// One SGEMM from its descriptor (core/quant/gptq_device_steps.h, emulated on the CPU in CI).
void sgemm(cublasHandle_t blas, const core::gptq_device::ColumnMajorGemm& g, const float* A, const float* B, float* C) {
    QB_CUBLAS_CHECK(cublasSgemm(blas, g.transA ? CUBLAS_OP_T : CUBLAS_OP_N, g.transB ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k,
                                &g.alpha, A + g.offsetA, g.lda, B + g.offsetB, g.ldb, &g.beta, C + g.offsetC, g.ldc));
}

template <class T>
void upload(T* dst, const T* src, std::size_t count, cudaStream_t stream) {
    if (count) QB_CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyHostToDevice, stream));
}
template <class T>
void download(T* dst, const T* src, std::size_t count, cudaStream_t stream) {
    if (count) QB_CUDA_CHECK(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
}

// Bytes the GPTQ of a [out, in] layer holds on the device at its peak (see gptq() below).
double gptqWorkingBytes(Index out, Index in) {
    const double n = double(in), o = double(out);
    return 20.0 * n * n + 10.0 * o * n + 64.0 * n + 16.0 * o + double(std::size_t(64) << 20);  // + solver workspace
}

}  // namespace

GptqResult CudaBackend::Impl::gptq(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H,
                                   const core::WeightGridSpec& spec, const core::GptqOptions& options,
                                   const core::RunContext& ctx) {
    const auto tStart = Clock::now();
    core::checkGptqInputs(W, H.rows(), H.cols(), spec, options);
    const Index out = W.rows();
    const Index n = W.cols();
    detail::requireIntSize(std::max(out, n), "a dimension");
    GptqResult result{QuantizedWeight::allocate(out, n, spec), {}};
    GptqReport& report = result.report;
    QuantizedWeight& Q = result.weight;
    const core::QuantGrid grid(spec.bits, spec.sym);
    const Index g = core::groupWidth(n, spec.groupSize);
    const Index groups = Q.groups();
    const bool staticGroups = options.staticGroups && spec.groupSize.has_value();
    const Index B = std::min<Index>(options.blockSize, std::max<Index>(n, 1));
    if (out == 0 || n == 0) return result;

    // 1. prepare (host): the same perm, dead columns and mean diagonal as the CPU path.
    const core::GptqHessianPrep P = core::prepareGptqHessian(H, options.actOrder);
    report.deadColumns = P.deadCount;
    std::vector<std::int32_t> perm(std::size_t(n), 0);
    std::vector<std::uint8_t> dead(std::size_t(n), 0);
    for (Index i = 0; i < n; ++i) {
        perm[std::size_t(i)] = std::int32_t(P.perm[std::size_t(i)]);
        dead[std::size_t(i)] = std::uint8_t(P.dead[std::size_t(i)]);
    }

    std::lock_guard lock(mutex);
    activate();
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    const std::size_t on = std::size_t(out) * std::size_t(n);
    DeviceBuffer<double> dH(nn), dDiag{std::size_t(n)};
    DeviceBuffer<std::int32_t> dPerm{std::size_t(n)};
    DeviceBuffer<std::uint8_t> dDead{std::size_t(n)};
    QB_CUDA_CHECK(cudaMemcpy2DAsync(dH.get(), std::size_t(n) * sizeof(double), H.data(),
                                    std::size_t(H.outerStride()) * sizeof(double), std::size_t(n) * sizeof(double),
                                    std::size_t(n), cudaMemcpyHostToDevice, stream));
    upload(dPerm.get(), perm.data(), perm.size(), stream);
    upload(dDead.get(), dead.data(), dead.size(), stream);

    // W on the device; static groups are fitted on it (dead columns as 0) before the sweep.
    DeviceBuffer<float> dW(on), dScales(std::size_t(out) * std::size_t(groups));
    DeviceBuffer<std::int32_t> dZeros(std::size_t(out) * std::size_t(groups));
    detail::uploadRows(dW.get(), W.data(), out, n, W.outerStride(), stream);
    if (staticGroups)
        QB_CUDA_CHECK(cuda::rtnGroups(dW.get(), dDead.get(), int(out), int(n), int(g), grid.maxq(), spec.sym, dScales.get(),
                                      dZeros.get(), nullptr, stream));
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
    report.secondsPrepare = secondsSince(tStart);

    // 2. factor: U = J·L̃⁻¹·J with J·(H'+λI)·J = L̃·L̃ᵀ; λ ×10 until it succeeds (as the CPU).
    auto t0 = Clock::now();
    DeviceBuffer<float> dU(nn);
    {
        DeviceBuffer<double> dA(nn);
        DeviceBuffer<int> dInfo(2);  // [0] potrf/trtri info, [1] bad pivot flag
        int lwork = 0;
        QB_CUSOLVER_CHECK(cusolverDnDpotrf_bufferSize(solver, CUBLAS_FILL_MODE_LOWER, int(n), dA.get(), int(n), &lwork));
        DeviceBuffer<double> dWork(std::size_t(std::max(lwork, 1)));
        double lambda = options.dampPercent * P.meanDiag;
        for (int attempt = 0;; ++attempt) {
            std::vector<double> damped(std::size_t(n), 0.0);
            for (Index i = 0; i < n; ++i) damped[std::size_t(i)] = P.diagP[i] + lambda;
            upload(dDiag.get(), damped.data(), damped.size(), stream);
            QB_CUDA_CHECK(cuda::buildReversedHessian(dH.get(), dPerm.get(), dDiag.get(), dA.get(), int(n), stream));
            QB_CUDA_CHECK(cudaMemsetAsync(dInfo.get(), 0, 2 * sizeof(int), stream));
            QB_CUSOLVER_CHECK(cusolverDnDpotrf(solver, CUBLAS_FILL_MODE_LOWER, int(n), dA.get(), int(n), dWork.get(), lwork,
                                               dInfo.get()));
            QB_CUDA_CHECK(cuda::checkCholeskyPivots(dA.get(), dDiag.get(), int(n), kMinRelativePivot, dInfo.get() + 1, stream));
            int info[2] = {0, 0};
            download(info, dInfo.get(), 2, stream);
            QB_CUDA_CHECK(cudaStreamSynchronize(stream));
            if (info[0] == 0 && info[1] == 0) {
                report.damping = lambda;
                report.dampingRetries = attempt;
                break;
            }
            if (attempt == core::kGptqMaxDampingRetries) throw core::gptqDampingExhausted(lambda);
            lambda = core::nextGptqDamping(lambda, P.meanDiag);
        }
        std::size_t deviceBytes = 0, hostBytes = 0;
        QB_CUSOLVER_CHECK(cusolverDnXtrtri_bufferSize(solver, CUBLAS_FILL_MODE_LOWER, CUBLAS_DIAG_NON_UNIT, n, CUDA_R_64F,
                                                      dA.get(), n, &deviceBytes, &hostBytes));
        DeviceBuffer<unsigned char> dTrtri(std::max<std::size_t>(deviceBytes, 1));
        std::vector<unsigned char> hTrtri(std::max<std::size_t>(hostBytes, 1));
        QB_CUSOLVER_CHECK(cusolverDnXtrtri(solver, CUBLAS_FILL_MODE_LOWER, CUBLAS_DIAG_NON_UNIT, n, CUDA_R_64F, dA.get(), n,
                                           dTrtri.get(), deviceBytes, hTrtri.data(), hostBytes, dInfo.get()));
        QB_CUDA_CHECK(cuda::reverseInverseFactor(dA.get(), dU.get(), int(n), stream));
        int info = 0;
        download(&info, dInfo.get(), 1, stream);
        QB_CUDA_CHECK(cudaStreamSynchronize(stream));
        if (info != 0) throw Error("GPTQ: the Cholesky factor is singular (trtri info " + std::to_string(info) + ")");
    }  // A, workspaces freed
    report.secondsCholesky = secondsSince(t0);
    ctx.throwIfStopped();

    // 3. sweep.
    t0 = Clock::now();
    DeviceBuffer<float> dWt(on), dE(std::size_t(B) * std::size_t(out));
    DeviceBuffer<std::uint8_t> dCodesT(on);
    DeviceBuffer<double> dRowLoss{std::size_t(out)};
    QB_CUDA_CHECK(cuda::gatherPermutedTranspose(dW.get(), dPerm.get(), dDead.get(), dWt.get(), int(out), int(n), stream));
    QB_CUDA_CHECK(cudaMemsetAsync(dRowLoss.get(), 0, std::size_t(out) * sizeof(double), stream));
    core::gptq_device::BlockArgs args;
    args.Wt = dWt.get();
    args.U = dU.get();
    args.E = dE.get();
    args.codesT = dCodesT.get();
    args.scales = dScales.get();
    args.zeros = dZeros.get();
    args.perm = dPerm.get();
    args.rowLoss = dRowLoss.get();
    args.out = int(out);
    args.n = int(n);
    args.groups = int(groups);
    args.groupCols = int(g);
    args.maxq = grid.maxq();
    args.sym = spec.sym;
    args.staticGroups = staticGroups;
    const Index blocks = (n + B - 1) / B;
    for (Index b = 0; b < blocks; ++b) {
        const Index i1 = b * B, i2 = std::min(n, i1 + B);
        args.i1 = int(i1);
        args.i2 = int(i2);
        QB_CUDA_CHECK(cuda::gptqSweepBlock(args, stream));
        // Alg. 1, line 11: Wt[i2:, :] −= U[i1:i2, i2:]ᵀ · E.
        if (i2 < n) sgemm(blas, core::gptq_device::lazyUpdateGemm(int(out), int(n), int(i1), int(i2)), dE.get(), dU.get(), dWt.get());
        ctx.progress(double(b + 1) / double(blocks), "GPTQ sweep (GPU)");
        if (ctx.stopRequested()) {
            QB_CUDA_CHECK(cudaStreamSynchronize(stream));
            ctx.throwIfStopped();
        }
    }
    DeviceBuffer<std::uint8_t> dCodes(on);
    QB_CUDA_CHECK(cuda::scatterCodes(dCodesT.get(), dPerm.get(), dCodes.get(), int(out), int(n), stream));
    download(Q.codes.data(), dCodes.get(), on, stream);
    download(Q.scales.data(), dScales.get(), std::size_t(out) * std::size_t(groups), stream);
    download(Q.zeros.data(), dZeros.get(), std::size_t(out) * std::size_t(groups), stream);
    std::vector<double> rowLoss(std::size_t(out), 0.0);
    download(rowLoss.data(), dRowLoss.get(), rowLoss.size(), stream);
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (!staticGroups && options.actOrder)  // g_idx[perm[i]] = i / groupsize
        for (Index i = 0; i < n; ++i) Q.gIdx[std::size_t(P.perm[std::size_t(i)])] = std::int32_t(i / g);
    report.secondsSweep = secondsSince(t0);

    // 4. objective: tr(ΔW H ΔWᵀ) = ‖E‖² − λ‖ΔW'‖² (as the CPU) and tr(W' H W'ᵀ) exactly,
    // from T = W'·H (SGEMM; U's buffer holds float(H), Wt's holds T).
    t0 = Clock::now();
    const double loss = std::accumulate(rowLoss.begin(), rowLoss.end(), 0.0);
    DeviceBuffer<std::int32_t> dGIdx{std::size_t(n)};
    upload(dGIdx.get(), Q.gIdx.data(), Q.gIdx.size(), stream);
    QB_CUDA_CHECK(cuda::zeroDeadColumns(dW.get(), dDead.get(), int(out), int(n), stream));
    QB_CUDA_CHECK(cuda::doubleToFloat(dH.get(), dU.get(), nn, stream));
    sgemm(blas, core::gptq_device::referenceProductGemm(int(out), int(n)), dU.get(), dW.get(), dWt.get());
    DeviceBuffer<double> dNorms(3 * std::size_t(out));
    QB_CUDA_CHECK(cuda::gptqRowNorms(dW.get(), dDead.get(), dCodes.get(), dScales.get(), dZeros.get(), dGIdx.get(), dWt.get(),
                                     int(out), int(n), int(groups), dNorms.get(), dNorms.get() + out, dNorms.get() + 2 * out,
                                     stream));
    std::vector<double> norms(3 * std::size_t(out));
    download(norms.data(), dNorms.get(), norms.size(), stream);
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
    double dwNorm = 0.0, whw = 0.0;
    for (Index r = 0; r < out; ++r) {
        dwNorm += norms[std::size_t(r)];
        whw += norms[std::size_t(2 * out + r)];
    }
    report.objective = std::max(0.0, loss - report.damping * dwNorm);
    report.objectiveReference = std::max(0.0, whw);
    report.objectiveReferenceEstimated = false;
    report.objectiveRelative = report.objectiveReference > 0.0 ? report.objective / report.objectiveReference : 0.0;
    report.secondsObjective = secondsSince(t0);
    report.secondsTotal = secondsSince(tStart);
    return result;
}

QuantizedWeight CudaBackend::Impl::rtn(const ConstMatrixRef& W, const core::WeightGridSpec& spec) {
    const core::QuantGrid grid(spec.bits, spec.sym);  // throws on bad bits, like the CPU
    if (spec.groupSize && *spec.groupSize <= 0)
        throw Error("RTN: group size must be positive, got " + std::to_string(*spec.groupSize));
    const Index out = W.rows(), n = W.cols();
    detail::requireIntSize(std::max(out, n), "a dimension");
    QuantizedWeight Q = QuantizedWeight::allocate(out, n, spec);
    if (out == 0 || n == 0) return Q;
    const Index g = core::groupWidth(n, spec.groupSize);
    const std::size_t on = std::size_t(out) * std::size_t(n), og = std::size_t(out) * std::size_t(Q.groups());
    std::lock_guard lock(mutex);
    activate();
    DeviceBuffer<float> dW(on), dScales(og);
    DeviceBuffer<std::int32_t> dZeros(og);
    DeviceBuffer<std::uint8_t> dCodes(on);
    detail::uploadRows(dW.get(), W.data(), out, n, W.outerStride(), stream);
    QB_CUDA_CHECK(cuda::rtnGroups(dW.get(), nullptr, int(out), int(n), int(g), grid.maxq(), spec.sym, dScales.get(),
                                  dZeros.get(), dCodes.get(), stream));
    download(Q.codes.data(), dCodes.get(), on, stream);
    download(Q.scales.data(), dScales.get(), og, stream);
    download(Q.zeros.data(), dZeros.get(), og, stream);
    QB_CUDA_CHECK(cudaStreamSynchronize(stream));
    return Q;
}

bool CudaBackend::supportsGptq(Index out, Index in) const {
    if (std::max(out, in) > Index(INT_MAX)) return false;
    try {
        m_impl->activate();
        return gptqWorkingBytes(out, in) <= double(m_impl->usableFreeBytes());
    } catch (const Error&) {
        return false;
    }
}

GptqResult CudaBackend::gptq(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>& H, const core::WeightGridSpec& spec,
                             const core::GptqOptions& options, const core::RunContext& ctx) const {
    return core::withErrorContext(name() + " GPTQ W" + detail::shapeText(W.rows(), W.cols()),
                                  [&] { return m_impl->gptq(W, H, spec, options, ctx); });
}

QuantizedWeight CudaBackend::rtn(const ConstMatrixRef& W, const core::WeightGridSpec& spec) const {
    return core::withErrorContext(name() + " RTN W" + detail::shapeText(W.rows(), W.cols()),
                                  [&] { return m_impl->rtn(W, spec); });
}

}  // namespace qb::gpu

// inspect's RTN sensitivity forms on the device (core/stats/sensitivity.h): W and the
// calibration inputs (G = XᵀX or X itself, float) are uploaded once; for each grid point the
// RTN kernel quantizes W on the device, D = W − Ŵ, T = D·G by SGEMM and ‖D Xᵀ‖² = Σ T ⊙ D
// (or T = D·Xᵀ and Σ T²) in double row sums, added on the host in row order. Each step is a
// function of core/quant/gptq_device_steps.h that CI emulates on the CPU.

#include <numeric>
#include <vector>

#include "core/quant/gptq_device_steps.h"
#include "core/quant/quant_grid.h"
#include "gpu/cuda/quant_kernels.cuh"
#include "gpu/cuda_backend_impl.h"

namespace qb::gpu {

using core::ConstMatrixRef;
using core::Index;
using detail::DeviceBuffer;

namespace {

void sgemm(cublasHandle_t blas, const core::gptq_device::ColumnMajorGemm& g, const float* A, const float* B, float* C) {
    QB_CUBLAS_CHECK(cublasSgemm(blas, g.transA ? CUBLAS_OP_T : CUBLAS_OP_N, g.transB ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k,
                                &g.alpha, A + g.offsetA, g.lda, B + g.offsetB, g.ldb, &g.beta, C + g.offsetC, g.ldc));
}

double energyBytes(Index out, Index in, Index rows) {
    const double o = double(out), n = double(in), m = double(rows);
    return 4.0 * (2.0 * o * n + m * n + o * m) + o * n + 8.0 * o + double(std::size_t(64) << 20);
}

}  // namespace

std::vector<double> CudaBackend::Impl::rtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                         bool inputsAreGram, const std::vector<core::WeightGridSpec>& specs) {
    const Index out = W.rows(), n = W.cols(), m = inputs.rows();  // m: n (G) or tokens (X)
    if (inputs.cols() != n || (inputsAreGram && m != n))
        throw core::Error("sensitivity: the inputs are " + detail::shapeText(inputs.rows(), inputs.cols()) + " for a weight with " +
                          std::to_string(n) + " input channels");
    detail::requireIntSize(std::max({out, n, m}), "a dimension");
    std::vector<double> energies;
    if (out == 0 || n == 0) return std::vector<double>(specs.size() + 1, 0.0);
    std::lock_guard lock(mutex);
    activate();
    const std::size_t on = std::size_t(out) * std::size_t(n);
    DeviceBuffer<float> dW(on), dD(on), dInputs(std::size_t(m) * std::size_t(n)), dT(std::size_t(out) * std::size_t(std::max<Index>(m, 1)));
    DeviceBuffer<std::uint8_t> dCodes(on);
    DeviceBuffer<double> dSums{std::size_t(out)};
    detail::uploadRows(dW.get(), W.data(), out, n, W.outerStride(), stream);
    detail::uploadRows(dInputs.get(), inputs.data(), m, n, inputs.outerStride(), stream);
    std::vector<double> sums(std::size_t(out), 0.0);
    const auto energy = [&](const float* D) {
        if (m == 0) return 0.0;
        if (inputsAreGram) {
            sgemm(blas, core::gptq_device::referenceProductGemm(int(out), int(n)), dInputs.get(), D, dT.get());  // T = D·G
            QB_CUDA_CHECK(cuda::rowDotSums(dT.get(), D, int(out), int(n), dSums.get(), stream));
        } else {
            sgemm(blas, core::gptq_device::inputProductGemm(int(out), int(n), int(m)), dInputs.get(), D, dT.get());  // T = D·Xᵀ
            QB_CUDA_CHECK(cuda::rowDotSums(dT.get(), dT.get(), int(out), int(m), dSums.get(), stream));
        }
        QB_CUDA_CHECK(cudaMemcpyAsync(sums.data(), dSums.get(), sums.size() * sizeof(double), cudaMemcpyDeviceToHost, stream));
        QB_CUDA_CHECK(cudaStreamSynchronize(stream));
        return std::accumulate(sums.begin(), sums.end(), 0.0);
    };
    energies.push_back(energy(dW.get()));  // ‖W Xᵀ‖²
    for (const core::WeightGridSpec& spec : specs) {
        const core::QuantGrid grid(spec.bits, spec.sym);
        const Index g = core::groupWidth(n, spec.groupSize);
        const Index groups = (n + g - 1) / g;
        DeviceBuffer<float> dScales(std::size_t(out) * std::size_t(groups));
        DeviceBuffer<std::int32_t> dZeros(std::size_t(out) * std::size_t(groups));
        QB_CUDA_CHECK(cuda::rtnGroups(dW.get(), nullptr, int(out), int(n), int(g), grid.maxq(), spec.sym, dScales.get(),
                                      dZeros.get(), dCodes.get(), stream));
        QB_CUDA_CHECK(cuda::rtnResidual(dW.get(), dCodes.get(), dScales.get(), dZeros.get(), dD.get(), int(out), int(n), int(g),
                                        stream));
        energies.push_back(energy(dD.get()));
    }
    return energies;
}

bool CudaBackend::supportsOutputEnergies(Index out, Index in, Index inputRows) const {
    if (std::max({out, in, inputRows}) > Index(INT_MAX)) return false;
    try {
        m_impl->activate();
        return energyBytes(out, in, inputRows) <= double(m_impl->usableFreeBytes());
    } catch (const core::Error&) {
        return false;
    }
}

std::vector<double> CudaBackend::rtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs, bool inputsAreGram,
                                                   const std::vector<core::WeightGridSpec>& specs) const {
    return core::withErrorContext(name() + " sensitivity W" + detail::shapeText(W.rows(), W.cols()),
                                  [&] { return m_impl->rtnOutputEnergies(W, inputs, inputsAreGram, specs); });
}

}  // namespace qb::gpu

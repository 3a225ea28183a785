// inspect's RTN sensitivity forms and AWQ's scale search on the device (core/stats/sensitivity.h,
// core/quant/awq.cpp): W and the
// calibration inputs (G = XᵀX or X itself, float) are uploaded once; for each grid point the
// RTN kernel quantizes W on the device, D = W − Ŵ, T = D·G by SGEMM and ‖D Xᵀ‖² = Σ T ⊙ D
// (or T = D·Xᵀ and Σ T²) in double row sums, added on the host in row order; AWQ's search
// quantizes W·diag(s) instead and divides by s again. Each step is a
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

namespace {

// W, the inputs (G or X, float), D, T and the RTN buffers on the device for a series of forms.
class ResidentForms {
public:
    ResidentForms(cublasHandle_t blas, cudaStream_t stream, const ConstMatrixRef& W, const ConstMatrixRef& inputs, bool isGram)
        : m_blas(blas), m_stream(stream), m_out(W.rows()), m_n(W.cols()), m_m(inputs.rows()), m_isGram(isGram) {
        if (inputs.cols() != m_n || (isGram && m_m != m_n))
            throw core::Error("sensitivity: the inputs are " + detail::shapeText(inputs.rows(), inputs.cols()) +
                              " for a weight with " + std::to_string(m_n) + " input channels");
        detail::requireIntSize(std::max({m_out, m_n, m_m}), "a dimension");
        const std::size_t on = std::size_t(m_out) * std::size_t(m_n);
        m_W.allocate(on);
        m_D.allocate(on);
        m_codes.allocate(on);
        m_inputs.allocate(std::size_t(m_m) * std::size_t(m_n));
        m_T.allocate(std::size_t(m_out) * std::size_t(std::max<Index>(m_m, 1)));
        m_sums.allocate(std::size_t(m_out));
        m_hostSums.assign(std::size_t(m_out), 0.0);
        detail::uploadRows(m_W.get(), W.data(), m_out, m_n, W.outerStride(), stream);
        detail::uploadRows(m_inputs.get(), inputs.data(), m_m, m_n, inputs.outerStride(), stream);
    }

    [[nodiscard]] const float* W() const { return m_W.get(); }
    [[nodiscard]] float* D() const { return m_D.get(); }

    // RTN of the [out, n] matrix A on spec: codes into the shared buffer, scales/zeros into
    // the given ones (resized); returns the group width.
    int rtn(const float* A, const core::WeightGridSpec& spec, DeviceBuffer<float>& scales, DeviceBuffer<std::int32_t>& zeros) {
        const core::QuantGrid grid(spec.bits, spec.sym);
        const Index g = core::groupWidth(m_n, spec.groupSize);
        const std::size_t og = std::size_t(m_out) * std::size_t((m_n + g - 1) / g);
        if (scales.bytes() != og * sizeof(float)) scales.allocate(og);
        if (zeros.bytes() != og * sizeof(std::int32_t)) zeros.allocate(og);
        QB_CUDA_CHECK(cuda::rtnGroups(A, nullptr, int(m_out), int(m_n), int(g), grid.maxq(), spec.sym, scales.get(), zeros.get(),
                                      m_codes.get(), m_stream));
        return int(g);
    }
    [[nodiscard]] const std::uint8_t* codes() const { return m_codes.get(); }

    // ‖D Xᵀ‖²_F of the device matrix D [out, n].
    double energy(const float* D) {
        if (m_m == 0 || m_out == 0 || m_n == 0) return 0.0;
        if (m_isGram) {
            sgemm(m_blas, core::gptq_device::referenceProductGemm(int(m_out), int(m_n)), m_inputs.get(), D, m_T.get());  // T = D·G
            QB_CUDA_CHECK(cuda::rowDotSums(m_T.get(), D, int(m_out), int(m_n), m_sums.get(), m_stream));
        } else {
            sgemm(m_blas, core::gptq_device::inputProductGemm(int(m_out), int(m_n), int(m_m)), m_inputs.get(), D, m_T.get());
            QB_CUDA_CHECK(cuda::rowDotSums(m_T.get(), m_T.get(), int(m_out), int(m_m), m_sums.get(), m_stream));
        }
        QB_CUDA_CHECK(cudaMemcpyAsync(m_hostSums.data(), m_sums.get(), m_hostSums.size() * sizeof(double), cudaMemcpyDeviceToHost,
                                      m_stream));
        QB_CUDA_CHECK(cudaStreamSynchronize(m_stream));
        return std::accumulate(m_hostSums.begin(), m_hostSums.end(), 0.0);  // row order
    }

    [[nodiscard]] Index out() const { return m_out; }
    [[nodiscard]] Index n() const { return m_n; }

private:
    cublasHandle_t m_blas;
    cudaStream_t m_stream;
    Index m_out, m_n, m_m;
    bool m_isGram;
    DeviceBuffer<float> m_W, m_D, m_inputs, m_T;
    DeviceBuffer<std::uint8_t> m_codes;
    DeviceBuffer<double> m_sums;
    std::vector<double> m_hostSums;
};

}  // namespace

std::vector<double> CudaBackend::Impl::rtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                         bool inputsAreGram, const std::vector<core::WeightGridSpec>& specs) {
    std::lock_guard lock(mutex);
    activate();
    ResidentForms forms(blas, stream, W, inputs, inputsAreGram);
    std::vector<double> energies{forms.energy(forms.W())};  // ‖W Xᵀ‖²
    DeviceBuffer<float> scales;
    DeviceBuffer<std::int32_t> zeros;
    for (const core::WeightGridSpec& spec : specs) {
        const int g = forms.rtn(forms.W(), spec, scales, zeros);
        QB_CUDA_CHECK(cuda::rtnResidual(forms.W(), forms.codes(), scales.get(), zeros.get(), forms.D(), int(forms.out()),
                                        int(forms.n()), g, stream));
        energies.push_back(forms.energy(forms.D()));
    }
    return energies;
}

std::vector<double> CudaBackend::Impl::scaledRtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs,
                                                               bool inputsAreGram, const core::WeightGridSpec& spec,
                                                               const std::vector<core::VectorF>& columnScales) {
    for (const core::VectorF& s : columnScales)
        if (s.size() != W.cols())
            throw core::Error("AWQ: scales have " + std::to_string(s.size()) + " entries for " + std::to_string(W.cols()) +
                              " input features");
    std::lock_guard lock(mutex);
    activate();
    ResidentForms forms(blas, stream, W, inputs, inputsAreGram);
    DeviceBuffer<float> scales, s{std::size_t(std::max<Index>(W.cols(), 1))};
    DeviceBuffer<std::int32_t> zeros;
    std::vector<double> energies;
    for (const core::VectorF& sc : columnScales) {
        QB_CUDA_CHECK(cudaMemcpyAsync(s.get(), sc.data(), std::size_t(sc.size()) * sizeof(float), cudaMemcpyHostToDevice, stream));
        // Ws = W·diag(s) into D's buffer, its RTN, then D = W − Ŵs·diag(s)⁻¹ over it.
        QB_CUDA_CHECK(cuda::awqScaleColumns(forms.W(), s.get(), forms.D(), int(forms.out()), int(forms.n()), stream));
        const int g = forms.rtn(forms.D(), spec, scales, zeros);
        QB_CUDA_CHECK(cuda::awqResidual(forms.W(), s.get(), forms.codes(), scales.get(), zeros.get(), forms.D(), int(forms.out()),
                                        int(forms.n()), g, stream));
        energies.push_back(forms.energy(forms.D()));
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

std::vector<double> CudaBackend::scaledRtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs, bool inputsAreGram,
                                                         const core::WeightGridSpec& spec,
                                                         const std::vector<core::VectorF>& columnScales) const {
    return core::withErrorContext(name() + " AWQ search W" + detail::shapeText(W.rows(), W.cols()),
                                  [&] { return m_impl->scaledRtnOutputEnergies(W, inputs, inputsAreGram, spec, columnScales); });
}

std::vector<double> CudaBackend::rtnOutputEnergies(const ConstMatrixRef& W, const ConstMatrixRef& inputs, bool inputsAreGram,
                                                   const std::vector<core::WeightGridSpec>& specs) const {
    return core::withErrorContext(name() + " sensitivity W" + detail::shapeText(W.rows(), W.cols()),
                                  [&] { return m_impl->rtnOutputEnergies(W, inputs, inputsAreGram, specs); });
}

}  // namespace qb::gpu

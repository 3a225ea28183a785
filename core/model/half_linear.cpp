#include "core/model/half_linear.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

void convertHalfRows(const void* bits, bool bf16, Index cols, Index r0, Index rows, float* out) {
    const std::size_t n = std::size_t(rows) * std::size_t(cols);
    const auto* src = static_cast<const unsigned char*>(bits) + 2 * std::size_t(r0) * std::size_t(cols);
    constexpr std::size_t kChunk = 4096;  // values per aligned bounce buffer
    std::uint16_t h[kChunk];
    for (std::size_t j0 = 0; j0 < n; j0 += kChunk) {
        const std::size_t m = std::min(kChunk, n - j0);
        std::memcpy(h, src + 2 * j0, 2 * m);  // the mapping need not be 2-byte aligned
        if (bf16)
            for (std::size_t j = 0; j < m; ++j) out[j0 + j] = bf16ToFloat(h[j]);
        else
            for (std::size_t j = 0; j < m; ++j) out[j0 + j] = f16ToFloat(h[j]);
    }
}

void halfMatmul(const void* bits, bool bf16, Index out, Index in, const ConstMatrixRef& X, MatrixRM& Y,
                const std::function<void(Index r0, Index rows)>& rowsRead) {
    const Index n = X.rows();
    if (X.cols() != in)
        throw Error("linear: input has " + std::to_string(X.cols()) + " features, weight expects " + std::to_string(in));
    Y.resize(n, out);
    if (n == 0 || out == 0) return;
    // Blocks of W rows: W_b [rows, in] converted to float (≤ 4 MiB), Y[:, b] = X · W_bᵀ.
    const Index blockRows = std::clamp<Index>((Index(1) << 20) / std::max<Index>(in, 1), 16, 4096);
    const Index blocks = (out + blockRows - 1) / blockRows;
    const MatrixRM Xc = X;  // contiguous rows for BLAS
    initBlasThreading();
    const int threads = blocks > 1 ? threadCount() : 1;
#pragma omp parallel num_threads(threads)
    {
        std::vector<float> W(std::size_t(blockRows) * std::size_t(in));
#pragma omp for schedule(dynamic, 1)
        for (Index b = 0; b < blocks; ++b) {
            const Index r0 = b * blockRows, rows = std::min(blockRows, out - r0);
            convertHalfRows(bits, bf16, in, r0, rows, W.data());
            if (rowsRead) rowsRead(r0, rows);
            gemmRowMajor(false, true, int(n), int(rows), int(in), 1.0f, Xc.data(), int(in), W.data(), int(in), 0.0f,
                         Y.data() + r0, int(out));
        }
    }
}

HalfLinear::HalfLinear(std::shared_ptr<const Checkpoint> checkpoint, const std::string& name, Index out, Index in)
    : m_checkpoint(std::move(checkpoint)), m_out(out), m_in(in) {
    const std::string wname = name + ".weight";
    const TensorInfo& t = m_checkpoint->get(wname);
    const std::string file = m_checkpoint->fileOf(wname).string();
    if (t.dtype != DType::F16 && t.dtype != DType::BF16)
        throw Error(file + ": tensor '" + wname + "' is " + dtypeName(t.dtype) + ", not F16 or BF16");
    if (t.shape != std::vector<std::int64_t>{out, in})
        throw Error(file + ": tensor '" + wname + "' has shape " + t.shapeString() + " but config.json implies [" +
                    std::to_string(out) + ", " + std::to_string(in) + "]");
    m_bf16 = t.dtype == DType::BF16;
    m_bits = t.data;
    m_tensor = wname;
    // NaN/Inf check in pieces, releasing the pages read (the forward maps them in again).
    const std::uint16_t expMask = m_bf16 ? 0x7F80u : 0x7C00u;
    const std::size_t count = std::size_t(out) * std::size_t(in), piece = std::size_t(1) << 22;
    std::vector<std::uint16_t> h;
    for (std::size_t i0 = 0; i0 < count; i0 += piece) {
        const std::size_t n = std::min(piece, count - i0);
        h.resize(n);
        std::memcpy(h.data(), static_cast<const unsigned char*>(m_bits) + 2 * i0, 2 * n);
        for (std::size_t i = 0; i < n; ++i)
            if ((h[i] & expMask) == expMask)
                throw Error(file + ": tensor '" + wname + "' holds NaN or Inf (row " + std::to_string((i0 + i) / std::size_t(in)) + ")");
        m_checkpoint->release(wname, 2 * i0, 2 * (i0 + n));
    }
    if (m_checkpoint->find(name + ".bias")) m_bias = m_checkpoint->loadVector(name + ".bias", out);
}

HalfLinear::~HalfLinear() { m_checkpoint->release(m_tensor); }

void HalfLinear::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    halfMatmul(m_bits, m_bf16, m_out, m_in, X, Y);
    addBias(m_bias, Y);
}

MatrixRM HalfLinear::denseWeight() const {
    MatrixRM W(m_out, m_in);
    convertHalfRows(m_bits, m_bf16, m_in, 0, m_out, W.data());
    return W;
}

std::size_t HalfLinear::storageBytes() const {
    return std::size_t(m_out) * std::size_t(m_in) * 2 + (m_bias ? std::size_t(m_bias->size()) * sizeof(float) : 0);
}

LinearPtr makeStreamedLinear(const std::shared_ptr<const Checkpoint>& checkpoint, const std::string& name, Index out, Index in) {
    const TensorInfo* t = checkpoint->find(name + ".weight");
    if (t && (t->dtype == DType::F16 || t->dtype == DType::BF16)) return std::make_shared<HalfLinear>(checkpoint, name, out, in);
    return makeDenseLinear(*checkpoint, name, out, in);
}

}  // namespace qb::core

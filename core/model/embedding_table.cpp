#include "core/model/embedding_table.h"

#include <algorithm>
#include <cstring>

#include "core/io/checkpoint.h"
#include "core/model/half_linear.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

EmbeddingTable::EmbeddingTable(MatrixRM table) : m_rows(table.rows()), m_cols(table.cols()), m_f32(std::move(table)) {}

EmbeddingTable::EmbeddingTable(std::shared_ptr<const Checkpoint> checkpoint, std::string tensor, const void* mapped, Index rows,
                               Index cols, bool bf16)
    : m_rows(rows), m_cols(cols), m_bf16(bf16), m_mapped(mapped), m_checkpoint(std::move(checkpoint)), m_tensor(std::move(tensor)) {}

EmbeddingTable::EmbeddingTable(std::vector<std::uint16_t> bits, Index rows, Index cols, bool bf16)
    : m_rows(rows), m_cols(cols), m_f16(std::move(bits)), m_bf16(bf16) {
    if (rows < 0 || cols < 0 || m_f16.size() != std::size_t(rows) * std::size_t(cols))
        throw Error("embedding: " + std::to_string(m_f16.size()) + " F16 values for a [" + std::to_string(rows) + ", " +
                    std::to_string(cols) + "] table");
}

std::shared_ptr<const EmbeddingTable> EmbeddingTable::load(const std::shared_ptr<const Checkpoint>& checkpoint,
                                                           const std::string& name, Index rows, Index cols) {
    const TensorInfo& t = checkpoint->get(name);
    if (t.dtype != DType::F16 && t.dtype != DType::BF16)
        return std::make_shared<EmbeddingTable>(checkpoint->loadMatrix(name, rows, cols));
    const bool bf16 = t.dtype == DType::BF16;
    const std::uint16_t expMask = bf16 ? 0x7F80u : 0x7C00u;  // exponent all ones: Inf or NaN
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
        throw Error(checkpoint->fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() +
                    " but config.json implies [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    // NaN/Inf check in 32 MiB pieces, each piece's pages released once read: the table is
    // then read in place, and only what lookups and the output projection touch is resident.
    const std::size_t count = std::size_t(rows) * std::size_t(cols), piece = std::size_t(16) << 20;
    std::vector<std::uint16_t> v;
    for (std::size_t i0 = 0; i0 < count; i0 += piece) {
        const std::size_t n = std::min(piece, count - i0);
        v.resize(n);
        std::memcpy(v.data(), t.data + 2 * i0, n * 2);  // the mapping need not be 2-byte aligned
        for (std::size_t i = 0; i < n; ++i)
            if ((v[i] & expMask) == expMask)
                throw Error(checkpoint->fileOf(name).string() + ": tensor '" + name + "' holds NaN or Inf (row " +
                            std::to_string((i0 + i) / std::size_t(cols)) + ")");
        checkpoint->release(name, 2 * i0, 2 * (i0 + n));
    }
    return std::shared_ptr<EmbeddingTable>(new EmbeddingTable(checkpoint, name, t.data, rows, cols, bf16));
}

void EmbeddingTable::row(Index r, float* out) const { rows(r, 1, out); }

void EmbeddingTable::releaseRows(Index r0, Index count) const {
    if (!m_mapped || !m_checkpoint) return;
    const std::size_t rowBytes = 2 * std::size_t(m_cols);
    m_checkpoint->release(m_tensor, std::size_t(r0) * rowBytes, std::size_t(r0 + count) * rowBytes);
}

void EmbeddingTable::rows(Index r0, Index count, float* out) const {
    const std::size_t n = std::size_t(count) * std::size_t(m_cols);
    if (isHalf()) {
        convertHalfRows(halfBits(), m_bf16, m_cols, r0, count, out);
    } else {
        std::memcpy(out, m_f32.row(r0).data(), n * sizeof(float));
    }
}

MatrixRM EmbeddingTable::dense() const {
    if (!isHalf()) return m_f32;
    MatrixRM m(m_rows, m_cols);
    rows(0, m_rows, m.data());
    return m;
}

std::size_t EmbeddingTable::storageBytes() const {
    return std::size_t(m_rows) * std::size_t(m_cols) * (isHalf() ? 2 : 4);
}

}  // namespace qb::core

#include "core/model/embedding_table.h"

#include <algorithm>
#include <cstring>

#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

EmbeddingTable::EmbeddingTable(MatrixRM table) : m_rows(table.rows()), m_cols(table.cols()), m_f32(std::move(table)) {}

EmbeddingTable::EmbeddingTable(std::vector<std::uint16_t> bits, Index rows, Index cols, bool bf16)
    : m_rows(rows), m_cols(cols), m_f16(std::move(bits)), m_bf16(bf16) {
    if (rows < 0 || cols < 0 || m_f16.size() != std::size_t(rows) * std::size_t(cols))
        throw Error("embedding: " + std::to_string(m_f16.size()) + " F16 values for a [" + std::to_string(rows) + ", " +
                    std::to_string(cols) + "] table");
}

std::shared_ptr<const EmbeddingTable> EmbeddingTable::load(const Checkpoint& checkpoint, const std::string& name, Index rows,
                                                           Index cols) {
    const TensorInfo& t = checkpoint.get(name);
    if (t.dtype != DType::F16 && t.dtype != DType::BF16)
        return std::make_shared<EmbeddingTable>(checkpoint.loadMatrix(name, rows, cols));
    const bool bf16 = t.dtype == DType::BF16;
    const std::uint16_t expMask = bf16 ? 0x7F80u : 0x7C00u;  // exponent all ones: Inf or NaN
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
        throw Error(checkpoint.fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() +
                    " but config.json implies [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    std::vector<std::uint16_t> v(std::size_t(rows) * std::size_t(cols));
    // Copied in 32 MiB pieces, each piece's mapped pages released once copied: the copy and
    // the file's pages are never both resident in full (525 MB each for a 1B model's table).
    const std::size_t piece = std::size_t(16) << 20;  // values
    for (std::size_t i0 = 0; i0 < v.size(); i0 += piece) {
        const std::size_t n = std::min(piece, v.size() - i0);
        std::memcpy(v.data() + i0, t.data + 2 * i0, n * 2);  // the mapping need not be 2-byte aligned
        for (std::size_t i = i0; i < i0 + n; ++i)
            if ((v[i] & expMask) == expMask)
                throw Error(checkpoint.fileOf(name).string() + ": tensor '" + name + "' holds NaN or Inf (row " +
                            std::to_string(i / std::size_t(cols)) + ")");
        checkpoint.release(name, 2 * i0, 2 * (i0 + n));
    }
    return std::make_shared<EmbeddingTable>(std::move(v), rows, cols, bf16);
}

void EmbeddingTable::row(Index r, float* out) const { rows(r, 1, out); }

void EmbeddingTable::rows(Index r0, Index count, float* out) const {
    const std::size_t n = std::size_t(count) * std::size_t(m_cols);
    if (isHalf()) {
        const std::uint16_t* p = m_f16.data() + std::size_t(r0) * std::size_t(m_cols);
        if (m_bf16)
            for (std::size_t j = 0; j < n; ++j) out[j] = bf16ToFloat(p[j]);
        else
            for (std::size_t j = 0; j < n; ++j) out[j] = f16ToFloat(p[j]);
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

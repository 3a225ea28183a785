#include "core/model/embedding_table.h"

#include <cstring>

#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

EmbeddingTable::EmbeddingTable(MatrixRM table) : m_rows(table.rows()), m_cols(table.cols()), m_f32(std::move(table)) {}

EmbeddingTable::EmbeddingTable(std::vector<std::uint16_t> f16, Index rows, Index cols)
    : m_rows(rows), m_cols(cols), m_f16(std::move(f16)) {
    if (rows < 0 || cols < 0 || m_f16.size() != std::size_t(rows) * std::size_t(cols))
        throw Error("embedding: " + std::to_string(m_f16.size()) + " F16 values for a [" + std::to_string(rows) + ", " +
                    std::to_string(cols) + "] table");
}

std::shared_ptr<const EmbeddingTable> EmbeddingTable::load(const Checkpoint& checkpoint, const std::string& name, Index rows,
                                                           Index cols) {
    const TensorInfo& t = checkpoint.get(name);
    if (t.dtype != DType::F16) return std::make_shared<EmbeddingTable>(checkpoint.loadMatrix(name, rows, cols));
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
        throw Error(checkpoint.fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() +
                    " but config.json implies [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    std::vector<std::uint16_t> v(std::size_t(rows) * std::size_t(cols));
    std::memcpy(v.data(), t.data, v.size() * 2);  // the mapping need not be 2-byte aligned
    for (std::size_t i = 0; i < v.size(); ++i)
        if ((v[i] & 0x7C00u) == 0x7C00u)  // exponent all ones: Inf or NaN
            throw Error(checkpoint.fileOf(name).string() + ": tensor '" + name + "' holds NaN or Inf (row " +
                        std::to_string(i / std::size_t(cols)) + ")");
    return std::make_shared<EmbeddingTable>(std::move(v), rows, cols);
}

void EmbeddingTable::row(Index r, float* out) const {
    if (isF16()) {
        const std::uint16_t* p = m_f16.data() + std::size_t(r) * std::size_t(m_cols);
        for (Index j = 0; j < m_cols; ++j) out[j] = f16ToFloat(p[j]);
    } else {
        std::memcpy(out, m_f32.row(r).data(), std::size_t(m_cols) * sizeof(float));
    }
}

MatrixRM EmbeddingTable::dense() const {
    if (!isF16()) return m_f32;
    MatrixRM m(m_rows, m_cols);
    for (Index r = 0; r < m_rows; ++r) row(r, m.row(r).data());
    return m;
}

std::size_t EmbeddingTable::storageBytes() const {
    return std::size_t(m_rows) * std::size_t(m_cols) * (isF16() ? 2 : 4);
}

}  // namespace qb::core

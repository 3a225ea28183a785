#include "core/model/embedding_head.h"

#include <algorithm>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/model/half_linear.h"
#include "core/util/error.h"

namespace qb::core {

EmbeddingHead::EmbeddingHead(std::shared_ptr<const EmbeddingTable> table, std::shared_ptr<const Checkpoint> checkpoint,
                             std::string tensor)
    : m_table(std::move(table)), m_checkpoint(std::move(checkpoint)), m_tensor(std::move(tensor)) {
    if (!m_table || !m_table->isHalf()) throw Error("lm_head: an embedding head needs an F16 or BF16 table");
}

void EmbeddingHead::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    std::function<void(Index, Index)> rowsRead;
    if (m_checkpoint) rowsRead = [this](Index r0, Index count) { release(r0, count); };
    halfMatmul(m_table->halfBits(), m_table->isBf16(), m_table->rows(), m_table->cols(), X, Y, rowsRead);
    // Once more over the whole table: a fault in one block can map pages of a block released
    // before it (the kernel maps a large page-cache folio, or its fault-around window, whole),
    // so the blocks' own releases can leave a neighbour's pages behind.
    release(0, m_table->rows());
}

void EmbeddingHead::readRows(Index r0, Index count, float* out) const {
    m_table->rows(r0, count, out);
    release(r0, count);
}

void EmbeddingHead::release(Index r0, Index count) const {
    if (!m_checkpoint) return;
    const std::size_t rowBytes = 2 * std::size_t(m_table->cols());
    m_checkpoint->release(m_tensor, std::size_t(r0) * rowBytes, std::size_t(r0 + count) * rowBytes);
}

LinearPtr makeEmbeddingHead(const std::shared_ptr<const EmbeddingTable>& table, const std::shared_ptr<const Checkpoint>& checkpoint,
                            const std::string& tensor) {
    if (table->isHalf()) return std::make_shared<EmbeddingHead>(table, checkpoint, tensor);
    return std::make_shared<DenseLinear>(table->f32());
}

}  // namespace qb::core

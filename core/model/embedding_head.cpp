#include "core/model/embedding_head.h"

#include <algorithm>
#include <vector>

#include "core/model/half_linear.h"
#include "core/util/error.h"

namespace qb::core {

EmbeddingHead::EmbeddingHead(std::shared_ptr<const EmbeddingTable> table) : m_table(std::move(table)) {
    if (!m_table || !m_table->isHalf()) throw Error("lm_head: an embedding head needs an F16 or BF16 table");
}

void EmbeddingHead::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    halfMatmul(m_table->halfBits(), m_table->isBf16(), m_table->rows(), m_table->cols(), X, Y);
}

LinearPtr makeEmbeddingHead(const std::shared_ptr<const EmbeddingTable>& table) {
    if (table->isHalf()) return std::make_shared<EmbeddingHead>(table);
    return std::make_shared<DenseLinear>(table->f32());
}

}  // namespace qb::core

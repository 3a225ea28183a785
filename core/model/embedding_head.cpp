#include "core/model/embedding_head.h"

#include <algorithm>
#include <vector>

#include "core/backend/backend.h"
#include "core/backend/cpu/blas_gemm.h"
#include "core/util/error.h"

namespace qb::core {

EmbeddingHead::EmbeddingHead(std::shared_ptr<const EmbeddingTable> table) : m_table(std::move(table)) {
    if (!m_table || !m_table->isHalf()) throw Error("lm_head: an embedding head needs an F16 or BF16 table");
}

void EmbeddingHead::forward(const ConstMatrixRef& X, MatrixRM& Y) const {
    const Index n = X.rows(), hidden = m_table->cols(), vocab = m_table->rows();
    if (X.cols() != hidden)
        throw Error("lm_head: input has " + std::to_string(X.cols()) + " features, the table expects " + std::to_string(hidden));
    Y.resize(n, vocab);
    if (n == 0) return;
    // Blocks of vocabulary rows: E_b [rows, hidden] converted to float (≤ 4 MiB), then
    // Y[:, b] = X · E_bᵀ through one single-threaded BLAS call per block, blocks in parallel.
    const Index blockRows = std::clamp<Index>((Index(1) << 20) / std::max<Index>(hidden, 1), 16, 4096);
    const Index blocks = (vocab + blockRows - 1) / blockRows;
    const MatrixRM Xc = X;  // contiguous rows for BLAS
    initBlasThreading();
#pragma omp parallel num_threads(threadCount())
    {
        std::vector<float> E(std::size_t(blockRows) * std::size_t(hidden));
#pragma omp for schedule(dynamic, 1)
        for (Index b = 0; b < blocks; ++b) {
            const Index r0 = b * blockRows, rows = std::min(blockRows, vocab - r0);
            m_table->rows(r0, rows, E.data());
            gemmRowMajor(false, true, int(n), int(rows), int(hidden), 1.0f, Xc.data(), int(hidden), E.data(), int(hidden), 0.0f,
                         Y.data() + r0, int(vocab));
        }
    }
}

LinearPtr makeEmbeddingHead(const std::shared_ptr<const EmbeddingTable>& table) {
    if (table->isHalf()) return std::make_shared<EmbeddingHead>(table);
    return std::make_shared<DenseLinear>(table->f32());
}

}  // namespace qb::core

#pragma once
// EmbeddingHead — the output projection read straight from a 16-bit (F16 or BF16) table:
// a tied lm_head (tie_word_embeddings: Llama 3.2, Qwen2.5/3 small models) or an untied one kept
// in its checkpoint precision. logits[n, vocab] = X[n, hidden] · Eᵀ, with E converted to float
// a block of vocabulary rows at a time, so the head costs its 2 bytes per weight and never a
// float32 copy (1.05 GB for Llama 3.2 1B's 128256 × 2048 table).
// Immutable and thread-safe once built; shares the table with the model's embedding.
// A head over a table mapped from a checkpoint can drop each block's pages from the resident
// set once the block is read: the whole table passes through every forward, and without the
// release it stays resident (2.1 GB for Llama 3 70B's 128256 × 8192 lm_head) although the next
// forward reads it again from the page cache.

#include <memory>
#include <string>

#include "core/model/embedding_table.h"
#include "core/model/linear.h"

namespace qb::core {

class EmbeddingHead final : public Linear {
public:
    /// table: [vocab, hidden]. Throws Error unless the table is F16 or BF16. With checkpoint,
    /// table must be its tensor `tensor` read in place (EmbeddingTable::load); each forward then
    /// releases the pages it has read (Checkpoint::release).
    explicit EmbeddingHead(std::shared_ptr<const EmbeddingTable> table, std::shared_ptr<const Checkpoint> checkpoint = {},
                           std::string tensor = {});

    [[nodiscard]] Index outFeatures() const override { return m_table->rows(); }
    [[nodiscard]] Index inFeatures() const override { return m_table->cols(); }
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    [[nodiscard]] MatrixRM denseWeight() const override { return m_table->dense(); }
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_noBias; }
    [[nodiscard]] std::size_t storageBytes() const override { return m_table->storageBytes(); }
    [[nodiscard]] std::string format() const override { return m_table->isBf16() ? "bf16" : "f16"; }
    [[nodiscard]] const std::shared_ptr<const EmbeddingTable>& table() const { return m_table; }
    /// Writes rows [r0, r0 + count) as float into out [count, hidden] (as table()->rows()) and,
    /// for a head built with its checkpoint, releases their mapped pages.
    void readRows(Index r0, Index count, float* out) const;

private:
    void release(Index r0, Index count) const;

    std::shared_ptr<const EmbeddingTable> m_table;
    std::shared_ptr<const Checkpoint> m_checkpoint;  // set: release what was read
    std::string m_tensor;
    std::optional<VectorF> m_noBias;
};

/// The output projection for a table: an EmbeddingHead over a 16-bit table (with checkpoint
/// and tensor: one that releases what it reads), a float32 DenseLinear (a copy) otherwise.
[[nodiscard]] LinearPtr makeEmbeddingHead(const std::shared_ptr<const EmbeddingTable>& table,
                                          const std::shared_ptr<const Checkpoint>& checkpoint = {}, const std::string& tensor = {});

}  // namespace qb::core

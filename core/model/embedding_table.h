#pragma once
// EmbeddingTable — the token embedding [vocab, hidden], held in the precision the checkpoint
// stores it: F16 tables stay F16 (2 bytes per value; an F16 → F32 conversion is exact, so the
// lookup gives the same floats as a converted table), everything else is float32. For a
// 32000 × 2048 table that is 131 MB instead of 262 MB.
// Thread-safety: immutable after construction.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/util/matrix.h"

namespace qb::core {

class Checkpoint;

class EmbeddingTable {
public:
    /// A float32 table.
    explicit EmbeddingTable(MatrixRM table);
    /// An F16 table: values [rows * cols], row-major. Throws Error on a size mismatch.
    EmbeddingTable(std::vector<std::uint16_t> f16, Index rows, Index cols);

    /// Tensor name of checkpoint, expected [rows, cols]: F16 stays F16, F32/BF16 become float32.
    /// Throws Error naming the file on a wrong shape or dtype, or a NaN/Inf value.
    static std::shared_ptr<const EmbeddingTable> load(const Checkpoint& checkpoint, const std::string& name,
                                                      Index rows, Index cols);

    [[nodiscard]] Index rows() const { return m_rows; }
    [[nodiscard]] Index cols() const { return m_cols; }
    [[nodiscard]] bool isF16() const { return !m_f16.empty(); }
    /// Writes row r as float into out[0, cols).
    void row(Index r, float* out) const;
    /// The whole table as float32 (a copy).
    [[nodiscard]] MatrixRM dense() const;
    /// Bytes held: 2 or 4 per value.
    [[nodiscard]] std::size_t storageBytes() const;

private:
    Index m_rows = 0, m_cols = 0;
    MatrixRM m_f32;                    // float32 form (empty when F16)
    std::vector<std::uint16_t> m_f16;  // F16 form, [rows * cols] (empty when float32)
};

}  // namespace qb::core

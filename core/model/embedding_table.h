#pragma once
// EmbeddingTable — the token embedding [vocab, hidden], held in the precision the checkpoint
// stores it: F16 and BF16 tables stay 16-bit (2 bytes per value; the conversion to F32 is
// exact, so the lookup gives the same floats as a converted table), F32 stays float32. For a
// 128256 × 2048 table (Llama 3.2 1B) that is 525 MB instead of 1.05 GB.
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
    /// A 16-bit table (F16, or BF16 when bf16): values [rows * cols], row-major. Throws Error on a size mismatch.
    EmbeddingTable(std::vector<std::uint16_t> bits, Index rows, Index cols, bool bf16 = false);

    /// Tensor name of checkpoint, expected [rows, cols]. F16 and BF16 tables are read in place
    /// from the mapped file (only the rows a lookup touches become resident; the checkpoint is
    /// kept alive), F32 ones are copied. Throws Error naming the file on a wrong shape or dtype,
    /// or a NaN/Inf value.
    static std::shared_ptr<const EmbeddingTable> load(const std::shared_ptr<const Checkpoint>& checkpoint,
                                                      const std::string& name, Index rows, Index cols);

    [[nodiscard]] Index rows() const { return m_rows; }
    [[nodiscard]] Index cols() const { return m_cols; }
    [[nodiscard]] bool isF16() const { return isHalf() && !m_bf16; }
    [[nodiscard]] bool isBf16() const { return isHalf() && m_bf16; }
    /// 2 bytes per value (F16 or BF16).
    [[nodiscard]] bool isHalf() const { return !m_f16.empty() || m_mapped; }
    /// Writes row r as float into out[0, cols).
    void row(Index r, float* out) const;
    /// Writes rows [r0, r0 + count) as float into out [count, cols] row-major.
    void rows(Index r0, Index count, float* out) const;
    /// For a table read in place (load() of a 16-bit tensor): drops the mapped pages of rows
    /// [r0, r0 + count) from the resident set (a pass over the whole table, e.g. writing it
    /// out, then holds one block at a time). A later lookup reads them again. No-op otherwise.
    void releaseRows(Index r0, Index count) const;
    /// The 16-bit values [rows * cols] (only when isHalf()); possibly not 2-byte aligned.
    [[nodiscard]] const void* halfBits() const { return m_mapped ? m_mapped : static_cast<const void*>(m_f16.data()); }
    /// The float32 table (only when neither F16 nor BF16).
    [[nodiscard]] const MatrixRM& f32() const { return m_f32; }
    /// The whole table as float32 (a copy).
    [[nodiscard]] MatrixRM dense() const;
    /// Bytes held: 2 or 4 per value.
    [[nodiscard]] std::size_t storageBytes() const;

private:
    /// A 16-bit table read in place from checkpoint's mapping (load()).
    EmbeddingTable(std::shared_ptr<const Checkpoint> checkpoint, std::string tensor, const void* mapped, Index rows, Index cols,
                   bool bf16);
    Index m_rows = 0, m_cols = 0;
    MatrixRM m_f32;                    // float32 form (empty when F16)
    std::vector<std::uint16_t> m_f16;  // 16-bit form, [rows * cols] (empty when float32)
    bool m_bf16 = false;               // the 16-bit values are BF16 rather than F16
    const void* m_mapped = nullptr;    // 16-bit values in a mapped checkpoint (m_f16 empty)
    std::shared_ptr<const Checkpoint> m_checkpoint;  // keeps m_mapped valid
    std::string m_tensor;                            // the mapped tensor's name (releaseRows)
};

}  // namespace qb::core

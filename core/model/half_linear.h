#pragma once
// HalfLinear — a linear module whose weight stays in the checkpoint's 16-bit form (F16 or
// BF16), read in place from the memory-mapped file. A streamed model (one too large to hold
// in float32) uses it for every float layer, so a decoder layer costs 2 bytes per weight while
// the forward passes through it instead of a 4-byte float32 copy (243 MB → 121 MB per layer of
// a 1B model). Y = X · Wᵀ is computed on blocks of W's rows converted to float (halfMatmul).
// Immutable; keeps the checkpoint (its mapping) alive.

#include <cstdint>
#include <functional>
#include <memory>

#include "core/model/linear.h"

namespace qb::core {

class Checkpoint;

/// Rows [r0, r0 + rows) of a 16-bit row-major matrix with `cols` columns (any alignment) as float.
void convertHalfRows(const void* bits, bool bf16, Index cols, Index r0, Index rows, float* out);

/// Y[n, out] = X[n, in] · Wᵀ with W [out, in] row-major 16-bit values (BF16 when bf16, else
/// F16) at `bits` (any alignment): rows of W converted to float a block at a time (≤ 4 MiB),
/// one single-threaded BLAS product per block, blocks in parallel. Y is resized.
/// rowsRead, when given, is called once per block with the rows [r0, r0 + rows) just read, from
/// the worker threads (concurrently): e.g. to drop their mapped pages from the resident set.
void halfMatmul(const void* bits, bool bf16, Index out, Index in, const ConstMatrixRef& X, MatrixRM& Y,
                const std::function<void(Index r0, Index rows)>& rowsRead = {});

class HalfLinear final : public Linear {
public:
    /// W = checkpoint tensor "<name>.weight" ([out, in], F16 or BF16, checked for NaN/Inf)
    /// and the float bias "<name>.bias" when present. Throws Error naming the file.
    HalfLinear(std::shared_ptr<const Checkpoint> checkpoint, const std::string& name, Index out, Index in);
    /// Drops the weight's mapped pages from the resident set (a streamed layer is done).
    ~HalfLinear() override;

    [[nodiscard]] Index outFeatures() const override { return m_out; }
    [[nodiscard]] Index inFeatures() const override { return m_in; }
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    [[nodiscard]] MatrixRM denseWeight() const override;
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_bias; }
    [[nodiscard]] std::size_t storageBytes() const override;
    [[nodiscard]] std::string format() const override { return m_bf16 ? "bf16" : "f16"; }

private:
    std::shared_ptr<const Checkpoint> m_checkpoint;
    std::string m_tensor;  ///< "<name>.weight"
    const void* m_bits = nullptr;
    bool m_bf16 = false;
    Index m_out = 0, m_in = 0;
    std::optional<VectorF> m_bias;
};

/// The linear of a streamed layer: HalfLinear for an F16/BF16 weight, else makeDenseLinear.
[[nodiscard]] LinearPtr makeStreamedLinear(const std::shared_ptr<const Checkpoint>& checkpoint, const std::string& name,
                                           Index out, Index in);

}  // namespace qb::core

#pragma once
// Fp16Linear — a Linear whose weight is held in IEEE binary16 (2 bytes per weight) and
// multiplied through the F16C kernels of float_matmul.h: the FP16 baseline every quantized
// format's latency and memory are compared against (quantbench-cli bench). The bias, if any,
// is rounded to F16 as well and kept in float. Immutable and thread-safe once built.

#include <cstdint>

#include "core/kernels/float_matmul.h"
#include "core/model/linear.h"

namespace qb::core {

class Fp16Linear final : public Linear {
public:
    /// W: [out, in] in float, rounded to the nearest F16. Throws Error if bias has the wrong size.
    explicit Fp16Linear(const ConstMatrixRef& W, std::optional<VectorF> bias = std::nullopt);
    /// W: [out, in] row-major binary16 bits (copied). Throws Error if bias has the wrong size.
    Fp16Linear(const std::uint16_t* W, Index out, Index in, std::optional<VectorF> bias = std::nullopt);
    /// The FP16 version of any linear: its denseWeight() (dequantized for quantized modules)
    /// and bias rounded to F16.
    [[nodiscard]] static LinearPtr fromLinear(const Linear& linear);

    [[nodiscard]] Index outFeatures() const override { return m_W.rows(); }
    [[nodiscard]] Index inFeatures() const override { return m_W.cols(); }
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    [[nodiscard]] MatrixRM denseWeight() const override { return m_W.toFloat(); }
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_bias; }
    /// 2 bytes per weight and per bias entry.
    [[nodiscard]] std::size_t storageBytes() const override;
    [[nodiscard]] std::string format() const override { return "f16"; }

    [[nodiscard]] const kernels::PackedF16Weight& packed() const { return m_W; }

private:
    void setBias(std::optional<VectorF> bias);
    kernels::PackedF16Weight m_W;  // [out, in] in tiles of 8 rows
    std::optional<VectorF> m_bias;
};

}  // namespace qb::core

#pragma once
// Linear — one linear module of the model: Y[n,out] = X[n,in] · W[out,in]ᵀ (+ bias[out]).
//
// The model holds its linears through this interface so that a quantizer can swap a dense
// float weight for a quantized one (fake-quantized, packed low-bit, W8A8 with activation
// quantization) without the forward pass knowing. Implementations are immutable once built
// and may be shared between threads and between models (std::shared_ptr<const Linear>).

#include <memory>
#include <optional>
#include <string>

#include "core/util/matrix.h"

namespace qb::core {

class Linear {
public:
    virtual ~Linear() = default;

    [[nodiscard]] virtual Index outFeatures() const = 0;
    [[nodiscard]] virtual Index inFeatures() const = 0;
    /// Y[n,out] = X[n,in] · Wᵀ + bias. Y is resized. Throws Error on a shape mismatch.
    virtual void forward(const ConstMatrixRef& X, MatrixRM& Y) const = 0;
    /// The effective weight W[out,in] in float (dequantized for quantized modules).
    [[nodiscard]] virtual MatrixRM denseWeight() const = 0;
    /// The bias [out], if the module has one.
    [[nodiscard]] virtual const std::optional<VectorF>& bias() const = 0;
    /// Bytes the module's parameters occupy in its storage format (weights, scales, zeros, bias).
    [[nodiscard]] virtual std::size_t storageBytes() const = 0;
    /// Short format label, e.g. "f32", "rtn int4 g32", "w8a8".
    [[nodiscard]] virtual std::string format() const = 0;
};

using LinearPtr = std::shared_ptr<const Linear>;

/// A float32 dense linear; the reference every quantized format is compared against.
class DenseLinear final : public Linear {
public:
    /// W: [out,in] row-major; bias: [out] or empty. Throws Error if bias has the wrong size.
    explicit DenseLinear(MatrixRM W, std::optional<VectorF> bias = std::nullopt);

    [[nodiscard]] Index outFeatures() const override { return m_W.rows(); }
    [[nodiscard]] Index inFeatures() const override { return m_W.cols(); }
    void forward(const ConstMatrixRef& X, MatrixRM& Y) const override;
    [[nodiscard]] MatrixRM denseWeight() const override { return m_W; }
    [[nodiscard]] const std::optional<VectorF>& bias() const override { return m_bias; }
    [[nodiscard]] std::size_t storageBytes() const override;
    [[nodiscard]] std::string format() const override { return "f32"; }
    /// Direct access to W without a copy.
    [[nodiscard]] const MatrixRM& weight() const { return m_W; }

private:
    MatrixRM m_W;
    std::optional<VectorF> m_bias;
};

/// Adds bias (if any) to every row of Y.
void addBias(const std::optional<VectorF>& bias, MatrixRM& Y);

}  // namespace qb::core

#pragma once
// QuantGrid — the uniform integer grid of the weight formats (RTN, GPTQ, AWQ), with the
// scale/zero math of the GPTQ reference Quantizer (IST-DASLab/gptq, quant.py).
//
// A group of weights x is mapped to codes q ∈ {0, …, maxq}, maxq = 2^bits − 1:
//   q = clamp(round(x / scale) + zero, 0, maxq),   x̂ = scale · (q − zero)
// Asymmetric (min-max, the grid always contains 0):
//   xmin = min(min x, 0),  xmax = max(max x, 0)
//   scale = (xmax − xmin) / maxq,  zero = round(−xmin / scale)
// Symmetric (absmax):
//   xmax = max(|xmin|, xmax),  scale = 2·xmax / maxq,  zero = (maxq + 1) / 2
//   (the reference keeps xmin = 0 when no weight is negative, which halves the scale and
//    clips the positive half; we always use the symmetric range, as the paper describes.)
// Degenerate group (all zeros): xmin = −1, xmax = +1 as in the reference.
//
// Scales are rounded to F16 *before* codes are computed: exported GPTQ checkpoints store
// F16 scales, so a reloaded model equals the in-memory one bit for bit. round() is
// round-half-to-even (torch.round); all code paths use gridCode()/gridValue() (grid_math.h) so that
// RTN, GPTQ and AWQ give identical results on identical inputs.

#include <cstdint>

#include "core/quant/grid_math.h"
#include "core/util/matrix.h"

namespace qb::core {

/// The grid of one bit width and symmetry. Cheap to copy; thread-safe (no state).
class QuantGrid {
public:
    /// bits in 1..8. Throws Error otherwise.
    QuantGrid(int bits, bool sym);

    [[nodiscard]] int bits() const { return m_bits; }
    [[nodiscard]] bool sym() const { return m_sym; }
    /// 2^bits − 1.
    [[nodiscard]] int maxq() const { return m_maxq; }

    /// Parameters for a group whose values span [rowMin, rowMax] (see the header comment).
    [[nodiscard]] GroupParams paramsForRange(float rowMin, float rowMax) const;
    /// Parameters fitted to x[0], x[stride], …, x[(n−1)·stride].
    [[nodiscard]] GroupParams fit(const float* x, Index n, Index stride = 1) const;

    /// Integer code of x in [0, maxq].
    [[nodiscard]] std::uint8_t code(float x, const GroupParams& p) const {
        return std::uint8_t(gridCode(x, p.scale, p.zero, float(m_maxq)));
    }
    /// x̂ = Q(x): the value x is represented by.
    [[nodiscard]] float quantize(float x, const GroupParams& p) const {
        return gridValue(gridCode(x, p.scale, p.zero, float(m_maxq)), p.scale, p.zero);
    }

private:
    int m_bits;
    bool m_sym;
    int m_maxq;
};

}  // namespace qb::core

#include "core/quant/quant_grid.h"

#include <limits>
#include <string>

#include "core/util/error.h"

namespace qb::core {

namespace {
constexpr float kF16SmallestSubnormal = 5.9604644775390625e-08f;  // 2^-24
constexpr float kF16Max = 65504.0f;
}  // namespace

float roundScaleToF16(float scale) {
    const float s = f16ToFloat(floatToF16(scale));
    if (!(s > 0.0f)) return kF16SmallestSubnormal;  // underflow (or a NaN range)
    return std::min(s, kF16Max);
}

QuantGrid::QuantGrid(int bits, bool sym) : m_bits(bits), m_sym(sym), m_maxq((1 << bits) - 1) {
    if (bits < 1 || bits > 8) throw Error("weight grid: bits must be in 1..8, got " + std::to_string(bits));
}

GroupParams QuantGrid::paramsForRange(float rowMin, float rowMax) const {
    // GPTQ reference Quantizer.find_params: the range always contains zero.
    float xmin = std::min(rowMin, 0.0f);
    float xmax = std::max(rowMax, 0.0f);
    if (m_sym) {
        xmax = std::max(std::abs(xmin), xmax);
        xmin = -xmax;
    }
    if (xmin == 0.0f && xmax == 0.0f) {  // all-zero group
        xmin = -1.0f;
        xmax = 1.0f;
    }
    GroupParams p;
    p.scale = roundScaleToF16((xmax - xmin) / float(m_maxq));
    if (m_sym) {
        p.zero = float((m_maxq + 1) / 2);
    } else {
        p.zero = std::min(std::max(std::rint(-xmin / p.scale), 0.0f), float(m_maxq));
    }
    return p;
}

GroupParams QuantGrid::fit(const float* x, Index n, Index stride) const {
    float lo = std::numeric_limits<float>::infinity();
    float hi = -std::numeric_limits<float>::infinity();
    for (Index i = 0; i < n; ++i) {
        lo = std::min(lo, x[i * stride]);
        hi = std::max(hi, x[i * stride]);
    }
    if (n == 0) lo = hi = 0.0f;
    return paramsForRange(lo, hi);
}

}  // namespace qb::core

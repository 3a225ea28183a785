#include "core/quant/quant_grid.h"

#include <algorithm>
#include <limits>
#include <string>

#include "core/util/error.h"

namespace qb::core {

QuantGrid::QuantGrid(int bits, bool sym) : m_bits(bits), m_sym(sym), m_maxq((1 << bits) - 1) {
    if (bits < 1 || bits > 8) throw Error("weight grid: bits must be in 1..8, got " + std::to_string(bits));
}

GroupParams QuantGrid::paramsForRange(float rowMin, float rowMax) const {
    return gridParamsForRange(rowMin, rowMax, m_maxq, m_sym);
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

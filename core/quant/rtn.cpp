#include "core/quant/rtn.h"

#include "core/backend/backend.h"

namespace qb::core {

QuantizedWeight quantizeRtn(const ConstMatrixRef& W, const WeightGridSpec& spec) {
    // W: [out, in], row-major
    const QuantGrid grid(spec.bits, spec.sym);
    QuantizedWeight Q = QuantizedWeight::allocate(W.rows(), W.cols(), spec);
    const Index g = groupWidth(W.cols(), spec.groupSize);
    const Index nGroups = Q.groups();
    const float maxq = float(grid.maxq());
#pragma omp parallel for num_threads(threadCount()) schedule(static)
    for (Index r = 0; r < W.rows(); ++r) {
        const float* w = W.row(r).data();
        std::uint8_t* q = Q.codes.row(r).data();
        for (Index k = 0; k < nGroups; ++k) {
            const Index c0 = k * g;
            const Index c1 = std::min(W.cols(), c0 + g);
            const GroupParams p = grid.fit(w + c0, c1 - c0);
            Q.scales(r, k) = p.scale;
            Q.zeros(r, k) = std::int32_t(p.zero);
            for (Index c = c0; c < c1; ++c) q[c] = std::uint8_t(gridCode(w[c], p.scale, p.zero, maxq));
        }
    }
    return Q;
}

}  // namespace qb::core

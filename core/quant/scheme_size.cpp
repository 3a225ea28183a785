#include "core/quant/scheme_size.h"

#include <string>

#include "core/util/error.h"

namespace qb::core {

namespace {

std::uint64_t u(Index v) { return std::uint64_t(v); }

// GPTQ layout (gptq_pack.h); the shapes are gptqShapes()'s.
SchemeStorage gridStorage(const WeightGridSpec& grid, Index out, Index in) {
    if (!isSupportedWeightBits(grid.bits))
        throw Error("size: " + std::to_string(grid.bits) + "-bit weights have no stored layout (bits are " + kSupportedWeightBitsText + ")");
    if (grid.groupSize && *grid.groupSize <= 0) throw Error("size: group size " + std::to_string(*grid.groupSize) + " is not positive");
    const Index groups = grid.groupSize ? ceilDiv(in, *grid.groupSize) : 1;
    const auto bits = u(grid.bits);
    SchemeStorage s;
    s.weight = u(ceilDiv(in, 32)) * bits * u(out) * 4;     // qweight int32 [⌈in/32⌉·bits, out]
    s.zeros = u(groups) * u(ceilDiv(out, 32)) * bits * 4;  // qzeros int32 [groups, ⌈out/32⌉·bits]
    s.scales = u(groups) * u(out) * 2;                     // scales F16 [groups, out]
    s.groupIndex = u(in) * 4;                              // g_idx int32 [in]
    return s;
}

}  // namespace

SchemeStorage schemeStorage(const QuantScheme& scheme, Index out, Index in, const ModuleSizeFacts& facts) {
    SchemeStorage s;
    switch (scheme.method) {
        case QuantMethod::Fp16:
            s.weight = u(out) * u(in) * 2;
            s.bias = facts.hasBias ? u(out) * 2 : 0;
            break;
        case QuantMethod::Rtn:
        case QuantMethod::Gptq:
        case QuantMethod::Awq:
        case QuantMethod::OmniQuant:
            s = gridStorage(scheme.grid, out, in);
            s.bias = facts.hasBias ? u(out) * 2 : 0;
            break;
        case QuantMethod::LlmInt8:
            s.fpColumns = u(facts.fpColumns) * (4 + u(out) * 2);  // fp_columns int32 [k] + fp_weight F16 [out, k]
            [[fallthrough]];
        case QuantMethod::W8A8:
        case QuantMethod::SmoothQuant:
            s.weight = u(out) * u(in);  // int8 [out, in]
            s.scales = u(out) * 4;      // weight_scale F32 [out]
            s.bias = facts.hasBias ? u(out) * 4 : 0;
            break;
    }
    return s;
}

std::uint64_t schemeBytes(const QuantScheme& scheme, Index out, Index in, const ModuleSizeFacts& facts) {
    return schemeStorage(scheme, out, in, facts).total();
}

double schemeBitsPerWeight(const QuantScheme& scheme, Index out, Index in, const ModuleSizeFacts& facts) {
    const double weights = double(out) * double(in);
    return weights > 0 ? 8.0 * double(schemeBytes(scheme, out, in, facts)) / weights : 0.0;
}

std::uint64_t gptqLayoutBytes(int bits, const std::optional<int>& groupSize, Index out, Index in) {
    return gridStorage({bits, groupSize, false}, out, in).total();
}

}  // namespace qb::core

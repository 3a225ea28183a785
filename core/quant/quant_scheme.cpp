#include "core/quant/quant_scheme.h"

#include "core/quant/method_registry.h"

#include <cstdio>

namespace qb::core {

namespace {

// Shortest decimal text of a small option value: 0.5 → "0.5", 6 → "6".
std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

std::string gridLabel(const WeightGridSpec& grid) {
    char buf[48];
    if (grid.groupSize)
        std::snprintf(buf, sizeof buf, "w%d g%d %s", grid.bits, *grid.groupSize, grid.sym ? "sym" : "asym");
    else
        std::snprintf(buf, sizeof buf, "w%d per-row %s", grid.bits, grid.sym ? "sym" : "asym");
    return buf;
}

// "" at 8 bits (the int8 kernels), " a6 (simulated)" below.
std::string actLabel(int actBits) {
    return actBits == 8 ? "" : " a" + std::to_string(actBits) + (isSimulatedActBits(actBits) ? " (simulated)" : "");
}

}  // namespace

std::string weightActivationLabel(int weightBits, int actBits) {
    // Appended piece by piece: GCC 12 misreads `"w" + std::string&&` as a memcpy of 2^63 bytes
    // (-Wstringop-overflow, a false positive of its inliner).
    std::string label = "w";
    label += std::to_string(weightBits);
    label += 'a';
    label += std::to_string(actBits);
    if (isSimulatedActBits(actBits)) label += " (simulated)";
    return label;
}

// The names live once, in the method registry.
std::string methodName(QuantMethod m) {
    for (const auto& e : methodRegistry())
        if (e.method == m) return e.name;
    return "unknown";
}

std::optional<QuantMethod> methodFromName(const std::string& name) {
    for (const auto& e : methodRegistry())
        if (e.name == name) return e.method;
    return std::nullopt;
}

std::string QuantScheme::label() const {
    // " a4 (simulated)": a grid scheme's per-token activations, always simulated (token_quant.h).
    const std::string gridAct = gridActBits ? " a" + std::to_string(*gridActBits) + " (simulated)" : "";
    switch (method) {
    case QuantMethod::Fp16:
        return "fp16";
    case QuantMethod::Rtn:
        return "rtn " + gridLabel(grid) + gridAct;
    case QuantMethod::Gptq:
        return "gptq " + gridLabel(grid) + gridAct + (gptq.actOrder ? " act-order" : "") + (gptq.staticGroups ? " static-groups" : "");
    case QuantMethod::Awq:
        return "awq " + gridLabel(grid) + gridAct + (awq.clipSearch ? "" : " no-clip");
    case QuantMethod::W8A8:
        return weightActivationLabel(8, smooth.actBits);
    case QuantMethod::SmoothQuant:
        return "smoothquant alpha=" + number(smooth.alpha) + actLabel(smooth.actBits);
    case QuantMethod::LlmInt8:
        return "llm_int8 threshold=" + number(llmInt8.threshold);
    case QuantMethod::OmniQuant:
        return "omniquant " + gridLabel(grid) + gridAct + (omniquant.lwc ? "" : " no-lwc") + (gridActBits ? (omniquant.let ? " let" : " no-let") : "") +
               " epochs=" + std::to_string(omniquant.epochs) + " lr=" + number(omniquant.lrLwc) + (omniquant.augLoss ? " aug-loss" : "");
    }
    return methodName(method);
}

}  // namespace qb::core

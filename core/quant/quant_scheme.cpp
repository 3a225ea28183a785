#include "core/quant/quant_scheme.h"

#include <array>
#include <cstdio>
#include <utility>

namespace qb::core {

namespace {

constexpr std::array<std::pair<QuantMethod, const char*>, 7> kMethodNames = {{
    {QuantMethod::Fp16, "fp16"},
    {QuantMethod::Rtn, "rtn"},
    {QuantMethod::Gptq, "gptq"},
    {QuantMethod::Awq, "awq"},
    {QuantMethod::W8A8, "w8a8"},
    {QuantMethod::SmoothQuant, "smoothquant"},
    {QuantMethod::LlmInt8, "llm_int8"},
}};

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

}  // namespace

std::string methodName(QuantMethod m) {
    for (const auto& [method, name] : kMethodNames)
        if (method == m) return name;
    return "unknown";
}

std::optional<QuantMethod> methodFromName(const std::string& name) {
    for (const auto& [method, text] : kMethodNames)
        if (name == text) return method;
    return std::nullopt;
}

std::string QuantScheme::label() const {
    switch (method) {
    case QuantMethod::Fp16:
        return "fp16";
    case QuantMethod::Rtn:
        return "rtn " + gridLabel(grid);
    case QuantMethod::Gptq:
        return "gptq " + gridLabel(grid) + (gptq.actOrder ? " act-order" : "") + (gptq.staticGroups ? " static-groups" : "");
    case QuantMethod::Awq:
        return "awq " + gridLabel(grid) + (awq.clipSearch ? "" : " no-clip");
    case QuantMethod::W8A8:
        return "w8a8";
    case QuantMethod::SmoothQuant:
        return "smoothquant alpha=" + number(smooth.alpha) + (smooth.actBits != 8 ? " a" + std::to_string(smooth.actBits) : "");
    case QuantMethod::LlmInt8:
        return "llm_int8 threshold=" + number(llmInt8.threshold);
    }
    return methodName(method);
}

}  // namespace qb::core

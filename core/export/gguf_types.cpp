#include "core/export/gguf_types.h"

#include <array>
#include <cctype>
#include <utility>

namespace qb::core {

namespace {

constexpr std::array<std::pair<GgmlType, const char*>, 10> kNames = {{
    {GgmlType::F32, "F32"},
    {GgmlType::F16, "F16"},
    {GgmlType::BF16, "BF16"},
    {GgmlType::Q8_0, "Q8_0"},
    {GgmlType::Q4_0, "Q4_0"},
    {GgmlType::Q4_1, "Q4_1"},
    {GgmlType::Q5_0, "Q5_0"},
    {GgmlType::Q5_1, "Q5_1"},
    {GgmlType::Q4_K, "Q4_K"},
    {GgmlType::Q6_K, "Q6_K"},
}};

}  // namespace

std::string ggmlTypeName(GgmlType type) {
    for (const auto& [t, name] : kNames)
        if (t == type) return name;
    return "type " + std::to_string(std::uint32_t(type));
}

std::optional<GgmlType> parseGgmlType(const std::string& name) {
    std::string upper;
    for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
    for (const auto& [t, n] : kNames)
        if (upper == n) return t;
    return std::nullopt;
}

std::string ggmlTypeNamesText() {
    std::string s;
    for (const auto& [t, name] : kNames) s += (s.empty() ? "" : ", ") + std::string(name);
    return s;
}

std::uint32_t ggufFileType(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return 0;
        case GgmlType::F16: return 1;
        case GgmlType::Q4_0: return 2;
        case GgmlType::Q4_1: return 3;
        case GgmlType::Q8_0: return 7;
        case GgmlType::Q5_0: return 8;
        case GgmlType::Q5_1: return 9;
        case GgmlType::Q4_K: return 15;
        case GgmlType::Q6_K: return 18;
        case GgmlType::BF16: return 32;
    }
    return 0;
}

bool isQuantizedGgmlType(GgmlType type) {
    return type != GgmlType::F32 && type != GgmlType::F16 && type != GgmlType::BF16;
}

}  // namespace qb::core

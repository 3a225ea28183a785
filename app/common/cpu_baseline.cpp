#include "app/common/cpu_baseline.h"

#include <array>

namespace qb::app {

namespace {

// x86-64 micro-architecture levels (the psABI's list), in GCC's feature names. lahf_sahf, cx16,
// lzcnt and xsave have no __builtin_cpu_supports name in GCC 12; every CPU with the listed
// features of a level also has them.
constexpr std::array<std::string_view, 5> kV2 = {"popcnt", "sse3", "ssse3", "sse4.1", "sse4.2"};
constexpr std::array<std::string_view, 7> kV3 = {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "movbe"};
constexpr std::array<std::string_view, 5> kV4 = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};

}  // namespace

std::vector<std::string> missingCpuFeatures(std::string_view march, bool (*has)(std::string_view feature)) {
    int level = 0;
    if (march == "x86-64-v2") level = 2;
    else if (march == "x86-64-v3") level = 3;
    else if (march == "x86-64-v4") level = 4;
    std::vector<std::string> missing;
    const auto check = [&](auto const& features) {
        for (const std::string_view f : features)
            if (!has(f)) missing.emplace_back(f);
    };
    if (level >= 2) check(kV2);
    if (level >= 3) check(kV3);
    if (level >= 4) check(kV4);
    return missing;
}

bool cpuHas(std::string_view f) {
    // __builtin_cpu_supports takes string literals only.
    if (f == "popcnt") return __builtin_cpu_supports("popcnt");
    if (f == "sse3") return __builtin_cpu_supports("sse3");
    if (f == "ssse3") return __builtin_cpu_supports("ssse3");
    if (f == "sse4.1") return __builtin_cpu_supports("sse4.1");
    if (f == "sse4.2") return __builtin_cpu_supports("sse4.2");
    if (f == "avx") return __builtin_cpu_supports("avx");
    if (f == "avx2") return __builtin_cpu_supports("avx2");
    if (f == "bmi") return __builtin_cpu_supports("bmi");
    if (f == "bmi2") return __builtin_cpu_supports("bmi2");
    if (f == "f16c") return __builtin_cpu_supports("f16c");
    if (f == "fma") return __builtin_cpu_supports("fma");
    if (f == "movbe") return __builtin_cpu_supports("movbe");
    if (f == "avx512f") return __builtin_cpu_supports("avx512f");
    if (f == "avx512bw") return __builtin_cpu_supports("avx512bw");
    if (f == "avx512cd") return __builtin_cpu_supports("avx512cd");
    if (f == "avx512dq") return __builtin_cpu_supports("avx512dq");
    if (f == "avx512vl") return __builtin_cpu_supports("avx512vl");
    return false;
}

std::string cpuBaselineMessage(std::string_view march, const std::vector<std::string>& missing) {
    std::string line = "error: this quantbench was built for " + std::string(march) + " and this CPU lacks ";
    for (std::size_t i = 0; i < missing.size(); ++i) line += (i ? ", " : "") + missing[i];
    line += ": build it from source (scripts/setup.sh compiles for the machine it runs on) or use a package built for an "
            "older baseline (scripts/package.sh x86-64-v2)";
    return line;
}

}  // namespace qb::app

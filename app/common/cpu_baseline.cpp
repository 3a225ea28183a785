#include "app/common/cpu_baseline.h"

#include <cstdio>
#include <cstring>

namespace qb::app {

namespace {

// x86-64 micro-architecture levels (the psABI's list), in GCC's feature names. lahf_sahf, cx16,
// lzcnt and xsave have no __builtin_cpu_supports name in GCC 12; every CPU with the listed
// features of a level also has them.
const char* const kV2[] = {"popcnt", "sse3", "ssse3", "sse4.1", "sse4.2"};
const char* const kV3[] = {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "movbe"};
const char* const kV4[] = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};

int levelOf(const char* march) {
    if (std::strcmp(march, "x86-64-v2") == 0) return 2;
    if (std::strcmp(march, "x86-64-v3") == 0) return 3;
    if (std::strcmp(march, "x86-64-v4") == 0) return 4;
    return 0;
}

}  // namespace

int missingCpuFeatures(const char* march, bool (*has)(const char* feature), const char* missing[kMaxCpuFeatures]) {
    const int level = levelOf(march);
    int count = 0;
    const auto check = [&](const char* const* features, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            if (!has(features[i])) missing[count++] = features[i];
    };
    if (level >= 2) check(kV2, sizeof kV2 / sizeof *kV2);
    if (level >= 3) check(kV3, sizeof kV3 / sizeof *kV3);
    if (level >= 4) check(kV4, sizeof kV4 / sizeof *kV4);
    return count;
}

bool cpuHas(const char* f) {
    // __builtin_cpu_supports takes string literals only.
    const auto is = [f](const char* name) { return std::strcmp(f, name) == 0; };
    if (is("popcnt")) return __builtin_cpu_supports("popcnt");
    if (is("sse3")) return __builtin_cpu_supports("sse3");
    if (is("ssse3")) return __builtin_cpu_supports("ssse3");
    if (is("sse4.1")) return __builtin_cpu_supports("sse4.1");
    if (is("sse4.2")) return __builtin_cpu_supports("sse4.2");
    if (is("avx")) return __builtin_cpu_supports("avx");
    if (is("avx2")) return __builtin_cpu_supports("avx2");
    if (is("bmi")) return __builtin_cpu_supports("bmi");
    if (is("bmi2")) return __builtin_cpu_supports("bmi2");
    if (is("f16c")) return __builtin_cpu_supports("f16c");
    if (is("fma")) return __builtin_cpu_supports("fma");
    if (is("movbe")) return __builtin_cpu_supports("movbe");
    if (is("avx512f")) return __builtin_cpu_supports("avx512f");
    if (is("avx512bw")) return __builtin_cpu_supports("avx512bw");
    if (is("avx512cd")) return __builtin_cpu_supports("avx512cd");
    if (is("avx512dq")) return __builtin_cpu_supports("avx512dq");
    if (is("avx512vl")) return __builtin_cpu_supports("avx512vl");
    return false;
}

void cpuBaselineMessage(const char* march, const char* const* missing, int count, char* line, std::size_t size) {
    if (size == 0) return;
    std::size_t used = 0;
    const auto append = [&](const char* text) {
        const int n = std::snprintf(line + used, size - used, "%s", text);
        if (n > 0) used = used + std::size_t(n) < size - 1 ? used + std::size_t(n) : size - 1;
    };
    line[0] = '\0';
    append("error: this quantbench was built for ");
    append(march);
    append(" and this CPU lacks ");
    for (int i = 0; i < count; ++i) {
        if (i) append(", ");
        append(missing[i]);
    }
    append(": build it from source (scripts/setup.sh compiles for the machine it runs on) or use a package built for an "
           "older baseline (scripts/package.sh x86-64-v2)");
}

}  // namespace qb::app

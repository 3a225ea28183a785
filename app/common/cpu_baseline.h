#pragma once
// The CPU baseline a build was compiled for (QB_MARCH: x86-64-v2, -v3, -v4) against the CPU it
// runs on. A package built for x86-64-v3 would otherwise die with SIGILL on an older CPU, at
// some random first AVX2 instruction; instead cpu_baseline_guard.cpp checks before main and
// prints one line naming what is missing. "native" (a source build for its own machine) and
// an empty march (the compiler's default, x86-64) need no check.
// This file and the guard are compiled for plain x86-64, whatever QB_MARCH is.

#include <string>
#include <string_view>
#include <vector>

namespace qb::app {

/// The CPU features (GCC's __builtin_cpu_supports names) that march needs and has() denies, in
/// a fixed order; empty for native, an empty march or a march this table does not know.
[[nodiscard]] std::vector<std::string> missingCpuFeatures(std::string_view march, bool (*has)(std::string_view feature));

/// True when the running CPU has feature (one of the names missingCpuFeatures asks about).
[[nodiscard]] bool cpuHas(std::string_view feature);

/// "error: this quantbench was built for x86-64-v3 and this CPU lacks avx2, fma: build it from
/// source (scripts/setup.sh) or install the x86-64-v2 package".
[[nodiscard]] std::string cpuBaselineMessage(std::string_view march, const std::vector<std::string>& missing);

}  // namespace qb::app

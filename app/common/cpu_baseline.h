#pragma once
// The CPU baseline a build was compiled for (QB_MARCH: x86-64-v2, -v3, -v4) against the CPU it
// runs on. A package built for x86-64-v3 would otherwise die with SIGILL on an older CPU, at
// some random first AVX2 instruction; instead cpu_baseline_guard.cpp checks before main and
// prints one line naming what is missing. "native" (a source build for its own machine) and
// an empty march (the compiler's default, x86-64) need no check.
// This file and the guard are compiled for plain x86-64, whatever QB_MARCH is, and use C only:
// an inline C++ template instantiated here could be replaced at link time by its copy from a
// file compiled for the baseline (one definition rule), and that copy may use AVX2.

#include <cstddef>

namespace qb::app {

/// The largest number of features missingCpuFeatures can report.
inline constexpr int kMaxCpuFeatures = 17;

/// Writes to missing[0..) the CPU features (GCC's __builtin_cpu_supports names) that march needs
/// and has() denies, in a fixed order, and returns their count (≤ kMaxCpuFeatures); 0 for
/// native, an empty march or a march this table does not know.
int missingCpuFeatures(const char* march, bool (*has)(const char* feature), const char* missing[kMaxCpuFeatures]);

/// True when the running CPU has feature (one of the names missingCpuFeatures asks about).
bool cpuHas(const char* feature);

/// Writes "error: this quantbench was built for x86-64-v3 and this CPU lacks avx2, fma: build it
/// from source (…) or use a package built for an older baseline (…)" to line (size bytes, cut to fit).
void cpuBaselineMessage(const char* march, const char* const* missing, int count, char* line, std::size_t size);

}  // namespace qb::app

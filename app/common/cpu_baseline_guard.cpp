// Runs before main — before any static initializer of quantbench's own code, which may already
// use the build's instruction set — and stops with one line when the CPU lacks what QB_MARCH
// assumed (app/common/cpu_baseline.h). Linked into each executable directly: a constructor in a
// static library that nothing references would be dropped by the linker.
// Compiled for plain x86-64 (app/common/CMakeLists.txt), C only (see cpu_baseline.h).
#include <unistd.h>

#include <cstdio>

#include "app/common/cpu_baseline.h"

#ifndef QB_BUILD_MARCH
#define QB_BUILD_MARCH ""
#endif

namespace {

__attribute__((constructor(101))) void checkCpuBaseline() {
    __builtin_cpu_init();  // required before __builtin_cpu_supports in a constructor
    const char* missing[qb::app::kMaxCpuFeatures];
    const int count = qb::app::missingCpuFeatures(QB_BUILD_MARCH, &qb::app::cpuHas, missing);
    if (count == 0) return;
    char line[512];
    qb::app::cpuBaselineMessage(QB_BUILD_MARCH, missing, count, line, sizeof line);
    std::fprintf(stderr, "%s\n", line);
    std::fflush(stderr);
    _exit(1);
}

}  // namespace

#include "core/kernels/cpu_features.h"

#include <atomic>
#include <cstdlib>
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif
#include <cstring>

#include "core/util/error.h"

namespace qb::core::kernels {

namespace {

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    // F16C from CPUID leaf 1 (ECX bit 29): clang before 15 has no "f16c" in __builtin_cpu_supports
    // (the fuzz build, scripts/fuzz.sh, compiles core with Debian's clang-14).
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    f.f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
    f.avx512vnni = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
    f.avx512vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vl");
#endif
    return f;
}

// -1: no override; otherwise the KernelPath value.
std::atomic<int> g_override{-1};

std::optional<KernelPath> fromEnvironment() {
    const char* v = std::getenv("QB_KERNELS");
    if (!v) return std::nullopt;
    if (std::strcmp(v, "scalar") == 0) return KernelPath::Scalar;
    if (std::strcmp(v, "avx2") == 0 && kernelPathAvailable(KernelPath::Avx2)) return KernelPath::Avx2;
    if (std::strcmp(v, "vnni") == 0 && kernelPathAvailable(KernelPath::Vnni)) return KernelPath::Vnni;
    return std::nullopt;  // unknown or unavailable: the best path
}

}  // namespace

const CpuFeatures& cpuFeatures() {
    static const CpuFeatures f = detect();
    return f;
}

bool kernelPathAvailable(KernelPath path) {
    if (path == KernelPath::Scalar) return true;
    const CpuFeatures& f = cpuFeatures();
    const bool avx2 = f.avx2 && f.fma && f.f16c;
    return path == KernelPath::Avx2 ? avx2 : avx2 && f.avx512vnni;
}

KernelPath bestKernelPath() {
    if (kernelPathAvailable(KernelPath::Vnni)) return KernelPath::Vnni;
    return kernelPathAvailable(KernelPath::Avx2) ? KernelPath::Avx2 : KernelPath::Scalar;
}

KernelPath activeKernelPath() {
    const int o = g_override.load(std::memory_order_relaxed);
    if (o >= 0) return KernelPath(o);
    static const std::optional<KernelPath> env = fromEnvironment();
    return env.value_or(bestKernelPath());
}

void setKernelPathOverride(std::optional<KernelPath> path) {
    if (path && !kernelPathAvailable(*path))
        throw Error("kernels: this CPU cannot run the " + kernelPathName(*path) + " kernels");
    g_override.store(path ? int(*path) : -1, std::memory_order_relaxed);
}

std::string kernelPathName(KernelPath path) {
    switch (path) {
        case KernelPath::Scalar: return "scalar";
        case KernelPath::Avx2: return "avx2";
        case KernelPath::Vnni: return "vnni";
    }
    return "?";
}

}  // namespace qb::core::kernels

#pragma once
// CPU feature detection and the choice between the portable scalar kernels and the
// AVX2/FMA/F16C kernels, made at run time (the AVX2 file is compiled with those flags
// whatever QB_MARCH is, and is only called when the CPU has them).
//
// The active path is, in order: the override set by setKernelPathOverride() (tests and
// benchmarks), else the environment variable QB_KERNELS ("scalar", "avx2" or "vnni"), else
// the best path the CPU supports. Thread-safe.

#include <optional>
#include <string>

namespace qb::core::kernels {

enum class KernelPath {
    Scalar,  ///< portable C++ (the *_ref reference kernels)
    Avx2,    ///< AVX2 + FMA + F16C
    /// Avx2 plus AVX-512 VNNI/VL on 256-bit vectors: the int2/int4/int8 matrix–vector
    /// product with the activation split into three int8 parts (vpdpbusd), and int5/6/7 too
    /// when the CPU also has AVX-512 VBMI; every other kernel of this path is the Avx2 one.
    Vnni,
};

/// True for the paths that run the AVX2 kernels (Avx2 and Vnni).
[[nodiscard]] inline bool usesAvx2(KernelPath p) { return p != KernelPath::Scalar; }

struct CpuFeatures {
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512vnni = false;  ///< AVX-512 VNNI with VL (256-bit vpdpbusd)
    bool avx512vbmi = false;  ///< AVX-512 VBMI with VL (256-bit vpmultishiftqb): the Vnni path's int5/6/7
};

/// What this CPU supports (queried once).
[[nodiscard]] const CpuFeatures& cpuFeatures();
/// True when path can run on this CPU (Scalar always can).
[[nodiscard]] bool kernelPathAvailable(KernelPath path);
/// Vnni when the CPU has AVX2, FMA, F16C and AVX-512 VNNI/VL; else Avx2 when it has the
/// first three; else Scalar.
[[nodiscard]] KernelPath bestKernelPath();
/// The path kernels use when the caller does not name one (see the header comment).
[[nodiscard]] KernelPath activeKernelPath();
/// Forces a path process-wide (nullopt: back to the default). Throws Error if the CPU
/// cannot run it.
void setKernelPathOverride(std::optional<KernelPath> path);
/// "scalar", "avx2", "vnni"
[[nodiscard]] std::string kernelPathName(KernelPath path);

}  // namespace qb::core::kernels

#pragma once
// QB_HD marks a function compiled for both the host (g++) and a CUDA device (nvcc).
//
// Per-element math that the GPU kernels share with the CPU reference (the F16 rounding of
// scales, the quantization grid, GPTQ's column step) is written once, as QB_HD inline
// functions in plain C++ headers: core compiles them with g++ and tests them on the CPU in
// CI, gpu/ compiles the same text into its kernels. Such functions use only what both sides
// have: arithmetic, comparisons, rintf/fabsf, and the bit casts below (no std:: algorithms,
// no exceptions, no allocation).

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define QB_HD __host__ __device__
#else
#define QB_HD
#endif

namespace qb::core {

/// The IEEE-754 bits of f.
QB_HD inline std::uint32_t floatBits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
#endif
}

/// The float whose IEEE-754 bits are u.
QB_HD inline float bitsFloat(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, 4);
    return f;
#endif
}

}  // namespace qb::core

#pragma once
// IEEE binary16 (F16) and bfloat16 (BF16) <-> float conversion, exact and portable.
// QB_HD: the GPU kernels round scales to F16 with these same functions (core/util/host_device.h).

#include <cstdint>

#include "core/util/host_device.h"

namespace qb::core {

QB_HD inline float bf16ToFloat(std::uint16_t h) { return bitsFloat(std::uint32_t(h) << 16); }

/// Round-to-nearest-even; NaN stays NaN.
QB_HD inline std::uint16_t floatToBf16(float f) {
    std::uint32_t bits = floatBits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return std::uint16_t(bits >> 16);
}

QB_HD inline float f16ToFloat(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    return bitsFloat(bits);
}

/// Round-to-nearest-even, overflow to infinity, subnormals kept.
QB_HD inline std::uint16_t floatToF16(float f) {
    std::uint32_t x = floatBits(f);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
    if (x >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (x < 0x38800000u) {                                       // below 2^-14: subnormal or zero
        if (x < 0x33000000u) return std::uint16_t(sign);          // below 2^-25 rounds to 0
        const std::uint32_t e = x >> 23;
        std::uint32_t m = (x & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126 - e;  // 14 - (e - 127) + 13 - 1 ... yields mantissa bits
        std::uint32_t r = m >> (shift);
        const std::uint32_t rem = m & ((1u << shift) - 1u);
        const std::uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) ++r;
        return std::uint16_t(sign | r);
    }
    std::uint32_t r = x - 0x38000000u;  // rebias exponent 127 -> 15
    r += 0xfffu + ((r >> 13) & 1u);
    return std::uint16_t(sign | (r >> 13));
}

}  // namespace qb::core

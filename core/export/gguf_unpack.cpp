// Reader side: GGUF tensor bytes → float, written from the block layouts of ggml-common.h
// (byte offsets spelled out here; nothing is shared with gguf_pack.cpp).
#include <cstring>

#include "core/export/gguf_reader.h"
#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

namespace {

float halfAt(const std::uint8_t* p) {
    std::uint16_t h;
    std::memcpy(&h, p, 2);
    return f16ToFloat(h);
}

// Q8_0: [d f16][32 × int8]; x = d·q.
void unpackQ8_0(const std::uint8_t* b, float* y) {
    const float d = halfAt(b);
    for (int j = 0; j < 32; ++j) y[j] = d * float(std::int8_t(b[2 + j]));
}

// Q4_0: [d f16][16 bytes]; byte j: value j (low nibble), value j+16 (high nibble); x = d·(q−8).
void unpackQ4_0(const std::uint8_t* b, float* y) {
    const float d = halfAt(b);
    for (int j = 0; j < 16; ++j) {
        y[j] = d * float(int(b[2 + j] & 0x0f) - 8);
        y[j + 16] = d * float(int(b[2 + j] >> 4) - 8);
    }
}

// Q4_1: [d f16][m f16][16 bytes]; x = d·q + m.
void unpackQ4_1(const std::uint8_t* b, float* y) {
    const float d = halfAt(b), m = halfAt(b + 2);
    for (int j = 0; j < 16; ++j) {
        y[j] = d * float(b[4 + j] & 0x0f) + m;
        y[j + 16] = d * float(b[4 + j] >> 4) + m;
    }
}

// Q5_0: [d f16][qh u32][16 bytes]; bit j of qh is bit 4 of value j; x = d·(q−16).
void unpackQ5_0(const std::uint8_t* b, float* y) {
    const float d = halfAt(b);
    std::uint32_t qh;
    std::memcpy(&qh, b + 2, 4);
    for (int j = 0; j < 16; ++j) {
        const int lo = int(b[6 + j] & 0x0f) | int(((qh >> j) & 1u) << 4);
        const int hi = int(b[6 + j] >> 4) | int(((qh >> (j + 16)) & 1u) << 4);
        y[j] = d * float(lo - 16);
        y[j + 16] = d * float(hi - 16);
    }
}

// Q5_1: [d f16][m f16][qh u32][16 bytes]; x = d·q + m.
void unpackQ5_1(const std::uint8_t* b, float* y) {
    const float d = halfAt(b), m = halfAt(b + 2);
    std::uint32_t qh;
    std::memcpy(&qh, b + 4, 4);
    for (int j = 0; j < 16; ++j) {
        const int lo = int(b[8 + j] & 0x0f) | int(((qh >> j) & 1u) << 4);
        const int hi = int(b[8 + j] >> 4) | int(((qh >> (j + 16)) & 1u) << 4);
        y[j] = d * float(lo) + m;
        y[j + 16] = d * float(hi) + m;
    }
}

// Q4_K: [d f16][dmin f16][12 scale bytes][128 bytes]. Sub-block s (32 values) has a 6-bit scale
// and min: s < 4: scale = byte[s] & 63, min = byte[s+4] & 63; s ≥ 4: scale = (byte[s+4] & 15) |
// (byte[s-4] >> 6) << 4, min = (byte[s+4] >> 4) | (byte[s] >> 6) << 4. Bytes [32c, 32c+32) hold
// sub-block 2c in the low and 2c+1 in the high nibbles. x = d·scale·q − dmin·min.
void unpackQ4K(const std::uint8_t* b, float* y) {
    const float d = halfAt(b), dmin = halfAt(b + 2);
    const std::uint8_t* sc = b + 4;
    const std::uint8_t* qs = b + 16;
    for (int s = 0; s < 8; ++s) {
        int scale, mn;
        if (s < 4) {
            scale = sc[s] & 63;
            mn = sc[s + 4] & 63;
        } else {
            scale = (sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4);
            mn = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
        }
        const float dl = d * float(scale), ml = dmin * float(mn);
        const std::uint8_t* q = qs + 32 * (s / 2);
        const int shift = (s % 2) * 4;
        for (int l = 0; l < 32; ++l) y[32 * s + l] = dl * float((q[l] >> shift) & 0x0f) - ml;
    }
}

// Q6_K: [ql 128][qh 64][scales int8 16][d f16]. Half h (128 values) uses ql[64h..], qh[32h..]:
// value 32g + l (g = 0..3) has low 4 bits from ql[l + 32(g%2)] (low nibble for g < 2, high
// otherwise) and high 2 bits from qh[l] at bit 2g; x = d·scale[(128h + 32g + l)/16]·(q − 32).
void unpackQ6K(const std::uint8_t* b, float* y) {
    const std::uint8_t* ql = b;
    const std::uint8_t* qh = b + 128;
    const auto* sc = reinterpret_cast<const std::int8_t*>(b + 192);
    const float d = halfAt(b + 208);
    for (int h = 0; h < 2; ++h)
        for (int g = 0; g < 4; ++g)
            for (int l = 0; l < 32; ++l) {
                const std::uint8_t low = ql[64 * h + l + 32 * (g % 2)];
                const int lo = g < 2 ? (low & 0x0f) : (low >> 4);
                const int hi = (qh[32 * h + l] >> (2 * g)) & 3;
                const int idx = 128 * h + 32 * g + l;
                y[idx] = d * float(sc[idx / 16]) * float((lo | (hi << 4)) - 32);
            }
}

}  // namespace

std::optional<std::pair<int, int>> ggufReadBlockGeometry(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return std::pair{1, 4};
        case GgmlType::F16: return std::pair{1, 2};
        case GgmlType::BF16: return std::pair{1, 2};
        case GgmlType::Q8_0: return std::pair{32, 34};
        case GgmlType::Q4_0: return std::pair{32, 18};
        case GgmlType::Q4_1: return std::pair{32, 20};
        case GgmlType::Q5_0: return std::pair{32, 22};
        case GgmlType::Q5_1: return std::pair{32, 24};
        case GgmlType::Q4_K: return std::pair{256, 144};
        case GgmlType::Q6_K: return std::pair{256, 210};
    }
    return std::nullopt;
}

void ggufUnpackRow(GgmlType type, const std::uint8_t* src, std::int64_t n, float* out) {
    const auto g = ggufReadBlockGeometry(type);
    if (!g || n % g->first != 0) throw Error("cannot decode " + std::to_string(n) + " values of " + ggmlTypeName(type));
    const std::int64_t blocks = n / g->first;
    for (std::int64_t i = 0; i < blocks; ++i) {
        const std::uint8_t* b = src + i * g->second;
        float* y = out + i * g->first;
        switch (type) {
            case GgmlType::F32: std::memcpy(y, b, 4); break;
            case GgmlType::F16: *y = halfAt(b); break;
            case GgmlType::BF16: {
                std::uint16_t h;
                std::memcpy(&h, b, 2);
                *y = bf16ToFloat(h);
                break;
            }
            case GgmlType::Q8_0: unpackQ8_0(b, y); break;
            case GgmlType::Q4_0: unpackQ4_0(b, y); break;
            case GgmlType::Q4_1: unpackQ4_1(b, y); break;
            case GgmlType::Q5_0: unpackQ5_0(b, y); break;
            case GgmlType::Q5_1: unpackQ5_1(b, y); break;
            case GgmlType::Q4_K: unpackQ4K(b, y); break;
            case GgmlType::Q6_K: unpackQ6K(b, y); break;
        }
    }
}

}  // namespace qb::core

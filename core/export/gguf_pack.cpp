#include "core/export/gguf_pack.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "core/util/error.h"
#include "core/util/half.h"

namespace qb::core {

static_assert(std::endian::native == std::endian::little, "GGUF files are written little-endian");

namespace {

// Block layouts of ggml-common.h (F16 fields as their bits).
struct BlockQ8_0 {
    std::uint16_t d;
    std::int8_t qs[32];
};
struct BlockQ4_0 {
    std::uint16_t d;
    std::uint8_t qs[16];  // value j in the low nibble of qs[j], value j+16 in the high nibble
};
struct BlockQ4_1 {
    std::uint16_t d, m;
    std::uint8_t qs[16];
};
struct BlockQ5_0 {
    std::uint16_t d;
    std::uint8_t qh[4];   // bit j: bit 4 of value j (a little-endian u32)
    std::uint8_t qs[16];  // low 4 bits, as Q4_0
};
struct BlockQ5_1 {
    std::uint16_t d, m;
    std::uint8_t qh[4];
    std::uint8_t qs[16];
};
struct BlockQ4K {
    std::uint16_t d, dmin;
    std::uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins, see packScalesQ4K
    std::uint8_t qs[128];
};
struct BlockQ6K {
    std::uint8_t ql[128];  // low 4 bits
    std::uint8_t qh[64];   // high 2 bits
    std::int8_t scales[16];
    std::uint16_t d;
};
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4K) == 144);
static_assert(sizeof(BlockQ6K) == 210);

constexpr int kQK = 32;    // legacy block
constexpr int kQKK = 256;  // K super-block

int nearestInt(float v) { return int(std::nearbyint(v)); }

// The value of largest magnitude (its sign kept) and that magnitude.
void signedAbsMax(const float* x, int n, float& maxValue, float& amax) {
    amax = 0.0f;
    maxValue = 0.0f;
    for (int j = 0; j < n; ++j)
        if (std::fabs(x[j]) > amax) {
            amax = std::fabs(x[j]);
            maxValue = x[j];
        }
}

void minMax(const float* x, int n, float& mn, float& mx) {
    mn = x[0];
    mx = x[0];
    for (int j = 1; j < n; ++j) {
        mn = std::min(mn, x[j]);
        mx = std::max(mx, x[j]);
    }
}

void packQ8_0(const float* x, BlockQ8_0& b) {
    float maxValue, amax;
    signedAbsMax(x, kQK, maxValue, amax);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b.d = floatToF16(d);
    for (int j = 0; j < kQK; ++j) b.qs[j] = std::int8_t(std::round(x[j] * id));
}

// Q4_0 / Q5_0: symmetric, the signed extreme maps to the most negative level exactly.
void quantSym(const float* x, int levelsHalf, int maxQ, std::uint16_t& dOut, int* q) {
    float maxValue, amax;
    signedAbsMax(x, kQK, maxValue, amax);
    const float d = maxValue / float(-levelsHalf);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dOut = floatToF16(d);
    // x·id + (half + 0.5) exactly (in double: the product of two floats is exact there), rounded
    // once to float, then truncated: what a fused multiply-add gives in ggml's reference and what
    // gguf-py computes; the same bytes whatever the compiler may fuse.
    for (int j = 0; j < kQK; ++j)
        q[j] = std::min(maxQ, int(std::trunc(float(double(x[j]) * double(id) + (double(levelsHalf) + 0.5)))));
}

// Q4_1 / Q5_1: min/max with the minimum as offset.
void quantAsym(const float* x, int maxQ, std::uint16_t& dOut, std::uint16_t& mOut, int* q) {
    float mn, mx;
    minMax(x, kQK, mn, mx);
    const float d = (mx - mn) / float(maxQ);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    dOut = floatToF16(d);
    mOut = floatToF16(mn);
    // fl(fl((x − min)·id) + 0.5), truncated: this file is compiled with -ffp-contract=off, so the
    // product is rounded on its own, bit for bit as gguf-py's reference (and ggml's without FMA).
    for (int j = 0; j < kQK; ++j) q[j] = std::min(maxQ, int(std::trunc((x[j] - mn) * id + 0.5f)));
}

void packNibbles(const int* q, std::uint8_t* qs) {
    for (int j = 0; j < kQK / 2; ++j) qs[j] = std::uint8_t((q[j] & 0x0f) | ((q[j + kQK / 2] & 0x0f) << 4));
}

void packHighBits(const int* q, std::uint8_t* qh) {
    std::uint32_t bits = 0;
    for (int j = 0; j < kQK; ++j) bits |= std::uint32_t((q[j] >> 4) & 1) << j;
    std::memcpy(qh, &bits, 4);
}

// Q4_K's 12 scale bytes: bytes 0-3 hold scale 0-3 (low 6 bits) and the top 2 bits of scale 4-7;
// bytes 4-7 the same for the mins; bytes 8-11 the low 4 bits of scale 4-7 (low nibble) and of
// min 4-7 (high nibble).
void packScalesQ4K(const int* sc, const int* mn, std::uint8_t* s) {
    std::memset(s, 0, 12);
    for (int j = 0; j < 4; ++j) {
        s[j] = std::uint8_t(sc[j]);
        s[j + 4] = std::uint8_t(mn[j]);
    }
    for (int j = 4; j < 8; ++j) {
        s[j + 4] = std::uint8_t((sc[j] & 0x0f) | ((mn[j] & 0x0f) << 4));
        s[j - 4] |= std::uint8_t((sc[j] >> 4) << 6);
        s[j] |= std::uint8_t((mn[j] >> 4) << 6);
    }
}

void packQ4K(const float* x, BlockQ4K& b) {
    // Phase 1: per sub-block of 32, x ∈ [-mn, -mn + 15·scale] with mn ≥ 0 (min clamped to ≤ 0).
    float scale[8], minv[8], maxScale = 0.0f, maxMin = 0.0f;
    for (int j = 0; j < 8; ++j) {
        float lo, hi;
        minMax(x + 32 * j, 32, lo, hi);
        lo = std::min(lo, 0.0f);
        scale[j] = (hi - lo) / 15.0f;
        minv[j] = -lo;
        maxScale = std::max(maxScale, scale[j]);
        maxMin = std::max(maxMin, minv[j]);
    }
    // Phase 2: six-bit scales and mins relative to d = maxScale/63, dmin = maxMin/63.
    const float invScale = maxScale > 0.0f ? 63.0f / maxScale : 0.0f;
    const float invMin = maxMin > 0.0f ? 63.0f / maxMin : 0.0f;
    int ls[8], lm[8];
    for (int j = 0; j < 8; ++j) {
        ls[j] = std::min(63, nearestInt(invScale * scale[j]));
        lm[j] = std::min(63, nearestInt(invMin * minv[j]));
    }
    b.d = floatToF16(maxScale / 63.0f);
    b.dmin = floatToF16(maxMin / 63.0f);
    packScalesQ4K(ls, lm, b.scales);
    // Phase 3: round each value against its stored (F16 · 6-bit) scale and min.
    std::uint8_t L[kQKK];
    const float d = f16ToFloat(b.d), dmin = f16ToFloat(b.dmin);
    for (int j = 0; j < 8; ++j) {
        const float dj = d * float(ls[j]), mj = dmin * float(lm[j]);
        for (int i = 0; i < 32; ++i) {
            const int l = dj != 0.0f ? nearestInt((x[32 * j + i] + mj) / dj) : 0;
            L[32 * j + i] = std::uint8_t(std::clamp(l, 0, 15));
        }
    }
    // Sub-blocks 2c and 2c+1 share bytes qs[32c, 32c+32): low and high nibble.
    for (int c = 0; c < 4; ++c)
        for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = std::uint8_t(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

void packQ6K(const float* x, BlockQ6K& b) {
    // Phase 1: per sub-block of 16 the absmax scale (extreme value → level -32).
    float scale[16], maxScale = 0.0f;
    for (int ib = 0; ib < 16; ++ib) {
        float maxValue, amax;
        signedAbsMax(x + 16 * ib, 16, maxValue, amax);
        scale[ib] = maxValue / -32.0f;
        if (std::fabs(scale[ib]) > std::fabs(maxScale)) maxScale = scale[ib];
    }
    std::uint8_t L[kQKK];
    if (maxScale == 0.0f) {
        std::memset(&b, 0, sizeof b);
        std::memset(L, 32, sizeof L);
    } else {
        // Phase 2: int8 sub-block scales relative to d = -maxScale/128.
        const float iscale = -128.0f / maxScale;
        b.d = floatToF16(1.0f / iscale);
        for (int ib = 0; ib < 16; ++ib) b.scales[ib] = std::int8_t(std::min(127, nearestInt(iscale * scale[ib])));
        // Phase 3: round against the stored scales.
        const float d = f16ToFloat(b.d);
        for (int ib = 0; ib < 16; ++ib) {
            const float dj = d * float(b.scales[ib]);
            for (int i = 0; i < 16; ++i) {
                const int l = dj != 0.0f ? nearestInt(x[16 * ib + i] / dj) : 0;
                L[16 * ib + i] = std::uint8_t(std::clamp(l, -32, 31) + 32);
            }
        }
    }
    // Each half of 128 values: ql[l] = v[l] | v[l+64] << 4, ql[l+32] = v[l+32] | v[l+96] << 4;
    // qh[l] holds the top 2 bits of v[l], v[l+32], v[l+64], v[l+96] at bits 0, 2, 4, 6.
    for (int h = 0; h < 2; ++h) {
        const std::uint8_t* v = L + 128 * h;
        std::uint8_t* ql = b.ql + 64 * h;
        std::uint8_t* qh = b.qh + 32 * h;
        for (int l = 0; l < 32; ++l) {
            ql[l] = std::uint8_t((v[l] & 0x0f) | ((v[l + 64] & 0x0f) << 4));
            ql[l + 32] = std::uint8_t((v[l + 32] & 0x0f) | ((v[l + 96] & 0x0f) << 4));
            qh[l] = std::uint8_t((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
        }
    }
}

template <class Block, class Fn>
void packBlocks(const float* x, std::int64_t n, int blockSize, std::uint8_t* out, Fn&& packOne) {
    for (std::int64_t i = 0; i < n / blockSize; ++i) {
        Block b{};
        packOne(x + i * blockSize, b);
        std::memcpy(out + i * std::int64_t(sizeof(Block)), &b, sizeof(Block));
    }
}

}  // namespace

int ggufPackBlockSize(GgmlType type) {
    switch (type) {
        case GgmlType::F32:
        case GgmlType::F16:
        case GgmlType::BF16: return 1;
        case GgmlType::Q4_K:
        case GgmlType::Q6_K: return kQKK;
        default: return kQK;
    }
}

std::size_t ggufPackBlockBytes(GgmlType type) {
    switch (type) {
        case GgmlType::F32: return 4;
        case GgmlType::F16:
        case GgmlType::BF16: return 2;
        case GgmlType::Q8_0: return sizeof(BlockQ8_0);
        case GgmlType::Q4_0: return sizeof(BlockQ4_0);
        case GgmlType::Q4_1: return sizeof(BlockQ4_1);
        case GgmlType::Q5_0: return sizeof(BlockQ5_0);
        case GgmlType::Q5_1: return sizeof(BlockQ5_1);
        case GgmlType::Q4_K: return sizeof(BlockQ4K);
        case GgmlType::Q6_K: return sizeof(BlockQ6K);
    }
    return 0;
}

std::size_t ggufPackedRowBytes(GgmlType type, std::int64_t n) {
    return std::size_t(n / ggufPackBlockSize(type)) * ggufPackBlockBytes(type);
}

void ggufPackRow(GgmlType type, const float* x, std::int64_t n, std::uint8_t* out) {
    const int bs = ggufPackBlockSize(type);
    if (n % bs != 0)
        throw Error("a row of " + std::to_string(n) + " values does not fill whole " + ggmlTypeName(type) + " blocks of " +
                    std::to_string(bs));
    switch (type) {
        case GgmlType::F32: std::memcpy(out, x, std::size_t(n) * 4); return;
        case GgmlType::F16:
            for (std::int64_t i = 0; i < n; ++i) {
                const std::uint16_t h = floatToF16(x[i]);
                std::memcpy(out + 2 * i, &h, 2);
            }
            return;
        case GgmlType::BF16:
            for (std::int64_t i = 0; i < n; ++i) {
                const std::uint16_t h = floatToBf16(x[i]);
                std::memcpy(out + 2 * i, &h, 2);
            }
            return;
        case GgmlType::Q8_0: packBlocks<BlockQ8_0>(x, n, bs, out, packQ8_0); return;
        case GgmlType::Q4_0:
            packBlocks<BlockQ4_0>(x, n, bs, out, [](const float* v, BlockQ4_0& b) {
                int q[kQK];
                quantSym(v, 8, 15, b.d, q);
                packNibbles(q, b.qs);
            });
            return;
        case GgmlType::Q4_1:
            packBlocks<BlockQ4_1>(x, n, bs, out, [](const float* v, BlockQ4_1& b) {
                int q[kQK];
                quantAsym(v, 15, b.d, b.m, q);
                packNibbles(q, b.qs);
            });
            return;
        case GgmlType::Q5_0:
            packBlocks<BlockQ5_0>(x, n, bs, out, [](const float* v, BlockQ5_0& b) {
                int q[kQK];
                quantSym(v, 16, 31, b.d, q);
                packNibbles(q, b.qs);
                packHighBits(q, b.qh);
            });
            return;
        case GgmlType::Q5_1:
            packBlocks<BlockQ5_1>(x, n, bs, out, [](const float* v, BlockQ5_1& b) {
                int q[kQK];
                quantAsym(v, 31, b.d, b.m, q);
                packNibbles(q, b.qs);
                packHighBits(q, b.qh);
            });
            return;
        case GgmlType::Q4_K: packBlocks<BlockQ4K>(x, n, bs, out, packQ4K); return;
        case GgmlType::Q6_K: packBlocks<BlockQ6K>(x, n, bs, out, packQ6K); return;
    }
    throw Error("cannot write tensor type " + ggmlTypeName(type));
}

}  // namespace qb::core

namespace qb::core {

namespace {

// The block's levels for a grid group: q = code − zero + offset must lie in [0, maxQ]
// (offset types), or q = code in [0, maxQ] with m = −scale·zero (min types).
struct CodeLevels {
    int maxQ = 0;
    int offset = 0;   // added to code − zero; unused for the min types
    bool withMin = false;
    int bits = 0;     // the widest grid the type holds
};

std::optional<CodeLevels> codeLevels(GgmlType type) {
    switch (type) {
        case GgmlType::Q8_0: return CodeLevels{255, 128, false, 8};  // stored as int8 q − 128
        case GgmlType::Q4_0: return CodeLevels{15, 8, false, 4};
        case GgmlType::Q5_0: return CodeLevels{31, 16, false, 5};
        case GgmlType::Q4_1: return CodeLevels{15, 0, true, 4};
        case GgmlType::Q5_1: return CodeLevels{31, 0, true, 5};
        default: return std::nullopt;
    }
}

// One block's levels q[32] and its d (and m) from the grid group.
void blockFromCodes(const CodeLevels& L, const std::uint8_t* codes, float scale, std::int32_t zero, int* q, std::uint16_t& d,
                    std::uint16_t* m) {
    d = floatToF16(scale);
    if (L.withMin) *m = floatToF16(-(scale * float(zero)));
    for (int j = 0; j < kQK; ++j) {
        q[j] = L.withMin ? int(codes[j]) : int(codes[j]) - zero + L.offset;
        if (q[j] < 0 || q[j] > L.maxQ)
            throw Error("code " + std::to_string(int(codes[j])) + " with zero point " + std::to_string(zero) +
                        " lies outside the block's levels 0.." + std::to_string(L.maxQ));
    }
}

}  // namespace

bool ggufHoldsGrid(GgmlType type, int bits, bool sym) {
    const auto L = codeLevels(type);
    return L && bits <= L->bits && (sym || L->withMin);
}

void ggufPackCodesRow(GgmlType type, const std::uint8_t* codes, const float* scales, const std::int32_t* zeros, std::int64_t n,
                      std::uint8_t* out) {
    const auto L = codeLevels(type);
    if (!L) throw Error("GGUF type " + ggmlTypeName(type) + " cannot hold grid codes");
    if (n % kQK != 0) throw Error("a row of " + std::to_string(n) + " codes does not fill whole blocks of 32");
    for (std::int64_t i = 0; i < n / kQK; ++i) {
        const std::uint8_t* c = codes + i * kQK;
        int q[kQK];
        switch (type) {
            case GgmlType::Q8_0: {
                BlockQ8_0 b{};
                blockFromCodes(*L, c, scales[i], zeros[i], q, b.d, nullptr);
                for (int j = 0; j < kQK; ++j) b.qs[j] = std::int8_t(q[j] - 128);
                std::memcpy(out + i * std::int64_t(sizeof b), &b, sizeof b);
                break;
            }
            case GgmlType::Q4_0: {
                BlockQ4_0 b{};
                blockFromCodes(*L, c, scales[i], zeros[i], q, b.d, nullptr);
                packNibbles(q, b.qs);
                std::memcpy(out + i * std::int64_t(sizeof b), &b, sizeof b);
                break;
            }
            case GgmlType::Q5_0: {
                BlockQ5_0 b{};
                blockFromCodes(*L, c, scales[i], zeros[i], q, b.d, nullptr);
                packNibbles(q, b.qs);
                packHighBits(q, b.qh);
                std::memcpy(out + i * std::int64_t(sizeof b), &b, sizeof b);
                break;
            }
            case GgmlType::Q4_1: {
                BlockQ4_1 b{};
                blockFromCodes(*L, c, scales[i], zeros[i], q, b.d, &b.m);
                packNibbles(q, b.qs);
                std::memcpy(out + i * std::int64_t(sizeof b), &b, sizeof b);
                break;
            }
            default: {  // Q5_1
                BlockQ5_1 b{};
                blockFromCodes(*L, c, scales[i], zeros[i], q, b.d, &b.m);
                packNibbles(q, b.qs);
                packHighBits(q, b.qh);
                std::memcpy(out + i * std::int64_t(sizeof b), &b, sizeof b);
                break;
            }
        }
    }
}

}  // namespace qb::core

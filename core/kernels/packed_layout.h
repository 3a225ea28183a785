#pragma once
// Packed weight layouts read by the CPU kernels — plain structs, no Eigen, so that the
// AVX2 translation unit (compiled with -mavx2 -mfma -mf16c) shares no inline template code
// with the portable one.
//
// Low-bit weights (int2..int8, per-group F16 scales and zero points, act-order g_idx):
// a repacking of the GPTQ checkpoint layout (gptq_pack.h) made once at load time. The GPTQ
// tensor qweight [ceil(in/32)·bits, out] holds, for every output column o and every run of
// 32 input rows, a 32·bits-bit little-endian stream in `bits` int32 words (value k at bits
// [k·bits, (k+1)·bits); 3 bits is AutoGPTQ's packing, 5–7 bits the same stream). We keep those words bit for bit and
// only move them:
//
//   * inputs are reordered so that every group is one contiguous run ("segment"), each run
//     padded with zero codes to a multiple of 32 inputs (no padding for sequential groups
//     whose size is a multiple of 32, e.g. g32/g64/g128, nor for GPTQ act-order with them,
//     except at the end of a row whose length is not a multiple of 32);
//   * outputs are cut into tiles of kTileRows = 8 rows, and each tile's words are stored
//     contiguously, block after block, with the 8 rows' words of one stream position side
//     by side — one 256-bit load:
//
//       words: [tiles][blocks][bits][8]  uint32   (block = 32 packed inputs of one tile)
//       params: [tiles][groups]  TileGroupParams  (8 F16 scales + 8 uint8 zero points)
//
// A kernel streams one tile's words front to back (sequential reads, prefetch friendly) and
// the activation is gathered once per call into the packed input order (xp). Padding rows of
// the last tile have code 0, scale 0 and zero 0. Per weight this is bits/8 bytes of codes
// plus 3 bytes per (row, group): 0.523 bytes for int4 g128 — never a float copy.
//
// Matrix–vector product with the zero point factored out of the group sum
// (s: scale, z: zero point, q: code, X_g = Σ_{i∈g} x_i):
//   y_o = Σ_g s_{g,o} · (Σ_{i∈g} q_{o,i} x_i − z_{g,o} · X_g)
// which equals Σ_i s·(q − z)·x (dequantize-then-multiply) up to float rounding.

#include <cstddef>
#include <cstdint>

namespace qb::core::kernels {

inline constexpr int kTileRows = 8;    ///< output rows per tile: one AVX2 register of int32 words
inline constexpr int kBlockCols = 32;  ///< inputs per packed block: one GPTQ 32-value stream

/// Scale and zero point of one group for the 8 rows of one tile.
struct TileGroupParams {
    std::uint16_t scale[kTileRows];  ///< IEEE binary16 bits
    std::uint8_t zero[kTileRows];    ///< zero point, 0..2^bits − 1
};
static_assert(sizeof(TileGroupParams) == 24, "TileGroupParams must stay 24 bytes (8 × F16 + 8 × u8)");

/// One block of a tile: 32 packed inputs × 8 rows, `Bits` stream words per row.
template <int Bits>
struct PackedBlock {
    std::uint32_t word[Bits][kTileRows];
};
static_assert(sizeof(PackedBlock<2>) == 64, "int2 block: 32 inputs × 8 rows × 2 bits");
static_assert(sizeof(PackedBlock<3>) == 96, "int3 block: 32 inputs × 8 rows × 3 bits");
static_assert(sizeof(PackedBlock<4>) == 128, "int4 block: 32 inputs × 8 rows × 4 bits");
static_assert(sizeof(PackedBlock<5>) == 160, "int5 block: 32 inputs × 8 rows × 5 bits");
static_assert(sizeof(PackedBlock<6>) == 192, "int6 block: 32 inputs × 8 rows × 6 bits");
static_assert(sizeof(PackedBlock<7>) == 224, "int7 block: 32 inputs × 8 rows × 7 bits");
static_assert(sizeof(PackedBlock<8>) == 256, "int8 block: 32 inputs × 8 rows × 8 bits");

/// A run of packed blocks that all belong to one group.
struct QuantSegment {
    std::int32_t group;       ///< index into the tile's params
    std::int32_t firstBlock;  ///< first block of the run
    std::int32_t blocks;      ///< number of blocks
};
static_assert(sizeof(QuantSegment) == 12, "QuantSegment must stay 3 × int32");

/// A read-only view of packed low-bit weights (see the layout above).
struct QuantTiles {
    int bits = 4;
    std::int64_t rows = 0;    ///< valid output rows (≤ tiles · 8)
    std::int64_t tiles = 0;
    std::int64_t blocks = 0;  ///< blocks per tile (packed inputs / 32)
    std::int64_t groups = 0;
    std::int64_t segmentCount = 0;
    const std::uint32_t* words = nullptr;     ///< [tiles][blocks][bits][8]
    const TileGroupParams* params = nullptr;  ///< [tiles][groups]
    const QuantSegment* segments = nullptr;   ///< [segmentCount], ascending firstBlock

    [[nodiscard]] std::int64_t packedCols() const { return blocks * kBlockCols; }
    [[nodiscard]] std::size_t tileWords() const { return std::size_t(blocks) * std::size_t(bits) * kTileRows; }
};

/// Float weights in the same tile order: [tiles][cols][8] (padding rows are 0).
struct F32Tiles {
    std::int64_t rows = 0, cols = 0, tiles = 0;
    const float* data = nullptr;
};

/// F16 weights in the same tile order: [tiles][cols][8] IEEE binary16 bits.
struct F16Tiles {
    std::int64_t rows = 0, cols = 0, tiles = 0;
    const std::uint16_t* data = nullptr;
};

/// int8 weights, row-major with every row zero-padded to a multiple of 32: [rows][stride].
struct Int8Rows {
    std::int64_t rows = 0, cols = 0, stride = 0;
    const std::int8_t* data = nullptr;
};

// ---- activation terms of the AVX2 low-bit kernels ------------------------------------------
// The AVX2 kernels convert a masked field (v >> pre) & mask of a stream word straight to
// float — q·2^k, exact — instead of shifting it down first, and multiply it with a
// coefficient x_i·2^−k prepared once per call (exact too: a power-of-two scaling). A code
// that straddles two words (3 bits: values 10 and 21) contributes two terms, one per piece.
// kTerms*[t] lists, in the order a kernel consumes them, the terms of one 32-input block.

struct ActivationTerm {
    std::uint8_t input;  ///< value index 0..31 inside the block
    std::int8_t exp2;    ///< coefficient = x[input] · 2^exp2
};

/// 32 terms, plus one for every value that straddles a word boundary of the stream (a boundary
/// 32j that is not a multiple of bits): 34 for 3 bits, 36 for 5 and 6, 38 for 7.
inline constexpr int termsPerBlock(int bits) {
    int n = 32;
    for (int j = 1; j < bits; ++j) n += (32 * j) % bits != 0 ? 1 : 0;
    return n;
}
inline constexpr int kMaxTermsPerBlock = 38;
static_assert(termsPerBlock(3) == 34 && termsPerBlock(5) == 36 && termsPerBlock(6) == 36 && termsPerBlock(7) == kMaxTermsPerBlock);

/// The term table of bits (2..8); nullptr otherwise.
const ActivationTerm* activationTerms(int bits);

// 5, 6 and 7 bits use one generic term order, the stream read word by word: every piece of a
// value inside word `word` is the field of `width` bits at `off`, extracted as a small integer
// ((v >> off) & (2^width − 1); a field that reaches bit 31 needs the shift only, one at bit 0
// the mask only). The piece holds bits [lowBit, lowBit + width) of value `input`, so its
// coefficient is x·2^lowBit: exp2 = lowBit (0 for every piece that is a whole value).
struct StreamPiece {
    std::uint8_t word = 0;
    std::uint8_t off = 0;
    std::uint8_t width = 0;
    std::uint8_t input = 0;
    std::int8_t exp2 = 0;   ///< lowBit: the piece's first bit inside its value
    bool shifted = false;   ///< the field reaches bit 31: v >> off alone extracts it
};

template <int Bits>
struct StreamPieces {
    StreamPiece piece[termsPerBlock(Bits)];
};

template <int Bits>
constexpr StreamPieces<Bits> streamPieces() {
    StreamPieces<Bits> P{};
    int t = 0;
    for (int w = 0; w < Bits; ++w)
        for (int k = 0; k < kBlockCols; ++k) {
            const int lo = k * Bits > 32 * w ? k * Bits : 32 * w;
            const int hi = (k + 1) * Bits < 32 * (w + 1) ? (k + 1) * Bits : 32 * (w + 1);
            if (lo >= hi) continue;
            StreamPiece& p = P.piece[t++];
            p.word = std::uint8_t(w);
            p.off = std::uint8_t(lo - 32 * w);
            p.width = std::uint8_t(hi - lo);
            p.input = std::uint8_t(k);
            p.shifted = p.off + p.width == 32;
            p.exp2 = std::int8_t(lo - k * Bits);
        }
    return P;
}

// ---- activation of the VNNI low-bit kernels (KernelPath::Vnni, bits 2 and 4 to 8) ----------
// vpdpbusd multiplies 4 unsigned bytes by 4 signed bytes and adds the sum to an int32 lane. The
// kernel unpacks a stream word into bytes that hold 4 codes each ((v >> j·bits) & mask, no
// shifting to the right place: the mask keeps each code in the low bits of its byte) and
// multiplies them with the activation quantized per segment (group run) to int8 in three parts:
//   x ≈ s · (x₁ + x₂/254 + x₃/254²),  s = max|x| / 127,  x_k ∈ −127..127
// — a 24-bit fixed-point activation (error ≤ s/(2·254²) ≈ 6·10⁻⁸ · max|x|, the size of one
// float rounding of the largest term), with exact int32 sums. vnniValue(bits, p) is the
// stream value index the kernel multiplies with byte p (0..31) of a block's activation part.
// 5, 6 and 7 bits keep the stream order (bytes 4g..4g+3 = values 4g..4g+3): the kernel cuts
// the 4·bits stream bits of values 4g..4g+3 out of one or two words and spreads them over the 4
// bytes with vpmultishiftqb, an AVX-512 VBMI instruction (vnniNeedsVbmi).

inline constexpr int kVnniParts = 3;
inline constexpr float kVnniBase = 254.0f;

/// The widths the VNNI kernels exist for (3 bits has none: it runs the AVX2 kernel there).
inline constexpr bool vnniSupportsBits(int bits) { return bits == 2 || (bits >= 4 && bits <= 8); }
/// The widths whose VNNI kernel also needs AVX-512 VBMI (CpuFeatures::avx512vbmi).
inline constexpr bool vnniNeedsVbmi(int bits) { return bits >= 5 && bits <= 7; }

inline constexpr int vnniValue(int bits, int p) {
    if (bits >= 5) return p;  // 8 bits: word w = bytes of values 4w..4w+3; 5–7: the stream order
    if (bits == 4) {          // word w: low nibbles = values 8w+{0,2,4,6}, then high = 8w+{1,3,5,7}
        const int w = p / 8, h = (p % 8) / 4, byte = p % 4;
        return 8 * w + 2 * byte + h;
    }
    const int w = p / 16, j = (p % 16) / 4, byte = p % 4;  // 2 bits: (v >> 2j) & 0x03030303
    return 16 * w + 4 * byte + j;
}

}  // namespace qb::core::kernels

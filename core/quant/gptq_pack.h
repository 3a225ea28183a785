#pragma once
// GPTQ checkpoint layout ("gptq" format, checkpoint_format v1) — the tensors that
// transformers / AutoGPTQ / vLLM load for one quantized linear `<module>`:
//
//   <module>.qweight  int32 [ceil(in/32)·bits, out]  codes packed along in_features
//   <module>.qzeros   int32 [nGroups, ceil(out/32)·bits]  (zero − 1) packed along out_features
//   <module>.scales   F16   [nGroups, out]
//   <module>.g_idx    int32 [in]   group of each input column
//
// Packing: the codes of 32 consecutive input rows (for one output column) form a 32·bits
// bit little-endian stream stored in `bits` consecutive int32 words: value k occupies bits
// [k·bits, (k+1)·bits). For 2/4/8 bits this is "32/bits values per word, low bits first";
// for 3 bits it is exactly AutoGPTQ's 3-bit pack (values 10 and 21 straddle words). qzeros
// use the same stream along out_features. v1 stores zero − 1 (the loader adds 1 back);
// a zero point of 0 (an asymmetric group with no negative weight) therefore wraps to
// 2^bits − 1 — unpack() undoes this modulo 2^bits, but standard v1 loaders read 2^bits
// (AutoGPTQ's own v1 packer has the same limitation); GptqTensors::wrappedZeros counts them.
//
// in or out not a multiple of 32 (e.g. the 172-wide layers of the bundled model): the
// stream is zero-padded to the next multiple of 32. For in % 32 == 0 and out % 32 == 0 the
// tensors are byte-identical to the standard layout; for other sizes, standard loaders that
// assume multiples of 32 cannot read them (quantbench's own loader can).

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/quant/quantized_weight.h"

namespace qb::core {

/// The four GPTQ tensors of one linear, row-major, plus their shapes.
struct GptqTensors {
    std::vector<std::int32_t> qweight;     ///< [ceil(in/32)·bits, out]
    std::vector<std::int32_t> qzeros;      ///< [nGroups, ceil(out/32)·bits]
    std::vector<std::uint16_t> scalesF16;  ///< [nGroups, out], IEEE binary16 bits
    std::vector<std::int32_t> g_idx;       ///< [in]
    std::array<Index, 2> qweightShape{0, 0};
    std::array<Index, 2> qzerosShape{0, 0};
    std::array<Index, 2> scalesShape{0, 0};
    Index gIdxSize = 0;
    int wrappedZeros = 0;  ///< groups whose zero point 0 wrapped to 2^bits − 1 (see header)
};

/// The shapes a GPTQ checkpoint has for these sizes (used by both pack and unpack).
[[nodiscard]] GptqTensors gptqShapes(int bits, const std::optional<int>& groupSize, Index inFeatures, Index outFeatures);

/// Packs Q into the GPTQ v1 layout. Throws Error if bits is not 2, 3, 4 or 8 or Q is inconsistent.
[[nodiscard]] GptqTensors packGptq(const QuantizedWeight& Q);

/// Unpacks GPTQ v1 tensors of a linear with in/out features. groupSize empty means one
/// group per row (checkpoint group_size −1); sym is carried into the result as metadata.
/// Throws Error naming the tensor whose size is wrong, or a g_idx value that is no group.
[[nodiscard]] QuantizedWeight unpackGptq(const GptqTensors& tensors, int bits, const std::optional<int>& groupSize, bool sym,
                                         Index inFeatures, Index outFeatures);

}  // namespace qb::core

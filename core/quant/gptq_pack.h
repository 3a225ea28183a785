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
// for 3 bits it is exactly AutoGPTQ's 3-bit pack (values 10 and 21 straddle words). 5, 6 and
// 7 bits use the same contiguous stream (5 bits: 5 words, values 6, 12, 19 and 25 straddle);
// no standard GPTQ loader reads them, so only quantbench's own checkpoint holds them
// (gptqStandardLayoutProblem says so and the GPTQ export refuses them). qzeros
// use the same stream along out_features (GPTQModel's pack_block: the 32 rows as
// [bits, 32/bits] words, row k at shift (k mod 32/bits)·bits; its 3-bit 10|1|10|1|10 split).
//
// Zero points, two conventions (GPTQModel, gptqmodel/utils/model.py):
//   v1 (checkpoint_format "gptq": AutoGPTQ, transformers, vLLM) stores zero − 1; the loader
//      adds 1 to each field (AutoGPTQ) or 0x11111111 to each 4-bit word (GPTQModel), so a
//      zero point of 0 (an asymmetric group with no negative weight) has no v1 encoding:
//      packGptq(…, V1) refuses it instead of wrapping it to 2^bits − 1.
//   v2 (checkpoint_format "gptq_v2": GPTQModel) stores the zero point as is.
//
// in or out not a multiple of 32 (e.g. the 172-wide layers of the bundled model): the
// stream is zero-padded to the next multiple of 32. That is quantbench's own checkpoint
// only; gptqStandardLayoutProblem() says which modules standard loaders can read, and the
// GPTQ export (core/export/gptq_export.h) keeps the others in F16.

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
};

/// How qzeros hold the zero points (see the header comment).
enum class GptqZeroFormat {
    V1,  ///< zero − 1 ("gptq")
    V2,  ///< zero as is ("gptq_v2")
};
/// "gptq" or "gptq_v2": the checkpoint_format value of a convention.
[[nodiscard]] const char* gptqCheckpointFormatName(GptqZeroFormat f);

/// Groups (output column × group) whose zero point is 0: they have no v1 encoding.
[[nodiscard]] Index gptqZeroPointsBelowOne(const QuantizedWeight& Q);

/// Why a [out, in] linear with these bits and group size cannot be stored in the standard
/// layout that AutoGPTQ, GPTQModel, transformers and vLLM read (empty when it can): in and
/// out must be multiples of 32 (qweight [in/32·bits, out], qzeros [groups, out/32·bits],
/// GPTQModel's pack_block), and in a multiple of the group size (GPTQModel's validation; the
/// loaders' scales have in/group rows).
[[nodiscard]] std::string gptqStandardLayoutProblem(int bits, const std::optional<int>& groupSize, Index inFeatures,
                                                    Index outFeatures);

/// The shapes a GPTQ checkpoint has for these sizes (used by both pack and unpack).
[[nodiscard]] GptqTensors gptqShapes(int bits, const std::optional<int>& groupSize, Index inFeatures, Index outFeatures);

/// Packs Q into the GPTQ layout with zero points in convention f. Throws Error if bits is not
/// in 2..8, Q is inconsistent, or f is V1 and a zero point is 0 (no v1 encoding).
[[nodiscard]] GptqTensors packGptq(const QuantizedWeight& Q, GptqZeroFormat f = GptqZeroFormat::V1);

/// Unpacks GPTQ tensors of a linear with in/out features. groupSize empty means one group per
/// row (checkpoint group_size −1); sym is carried into the result as metadata. V1 adds 1 modulo
/// 2^bits, so quantbench checkpoints written before v2 existed (which wrapped a zero of 0 to
/// 2^bits − 1) still read back as written. Throws Error naming the tensor whose size is
/// wrong, or a g_idx value that is no group.
[[nodiscard]] QuantizedWeight unpackGptq(const GptqTensors& tensors, int bits, const std::optional<int>& groupSize, bool sym,
                                         Index inFeatures, Index outFeatures, GptqZeroFormat f = GptqZeroFormat::V1);

}  // namespace qb::core

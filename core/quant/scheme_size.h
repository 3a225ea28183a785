#pragma once
// The storage bytes of one linear module under a scheme — THE size formula. The plan view,
// the report, the autopilot (core/plan) and the quantized modules' storageBytes() all call it,
// so a plan's predicted size is the size of the checkpoint `quantize` writes.
//
// What each method stores for a module W [out, in] (quantized_checkpoint.cpp, docs/quantized-format.md):
//   rtn, gptq, awq   GPTQ layout: qweight int32 [⌈in/32⌉·bits, out], qzeros int32
//                    [groups, ⌈out/32⌉·bits], scales F16 [groups, out], g_idx int32 [in]
//                    (always written, so act-order costs nothing extra), bias F16 [out].
//                    groups = ⌈in/groupSize⌉ (1 for per-row). AWQ's scales are folded into the
//                    preceding RMSNorm or linear, which exist anyway: no extra bytes.
//   w8a8,            int8 weight [out, in], F32 weight_scale [out], bias F32 [out].
//   smoothquant      SmoothQuant's s is folded into the RMSNorm: no extra bytes.
//   llm_int8         as w8a8 (the int8 weight keeps every column, outlier ones as 0) plus
//                    fp_columns int32 [k] and fp_weight F16 [out, k] for the k input columns
//                    whose calibration activations reached the threshold. k depends on data:
//                    the caller passes it (0 before calibration, i.e. a lower bound).
//   fp16             weight F16 [out, in], bias F16 [out].
// Pure arithmetic; thread-safe.

#include <cstdint>
#include <optional>

#include "core/quant/quant_scheme.h"
#include "core/util/matrix.h"

namespace qb::core {

/// Facts about a module that the scheme alone does not give.
struct ModuleSizeFacts {
    bool hasBias = false;   ///< the module has a bias vector (Llama's linears have none)
    Index fpColumns = 0;    ///< LLM.int8(): input columns kept in FP16 (k above); ignored otherwise
};

/// The bytes of each stored tensor of one module; total() is what schemeBytes() returns.
struct SchemeStorage {
    std::uint64_t weight = 0;     ///< qweight (packed codes), int8 codes, or the F16 weight
    std::uint64_t zeros = 0;      ///< qzeros
    std::uint64_t scales = 0;     ///< F16 group scales, or F32 per-row scales
    std::uint64_t groupIndex = 0; ///< g_idx
    std::uint64_t fpColumns = 0;  ///< LLM.int8(): fp_columns + fp_weight
    std::uint64_t bias = 0;
    [[nodiscard]] std::uint64_t total() const { return weight + zeros + scales + groupIndex + fpColumns + bias; }
};

/// The stored tensors of a module [out, in] under scheme, in bytes. Throws Error when a grid
/// method has bits outside kSupportedWeightBits (no packed layout) or a group size ≤ 0.
[[nodiscard]] SchemeStorage schemeStorage(const QuantScheme& scheme, Index out, Index in, const ModuleSizeFacts& facts = {});
/// schemeStorage(…).total().
[[nodiscard]] std::uint64_t schemeBytes(const QuantScheme& scheme, Index out, Index in, const ModuleSizeFacts& facts = {});
/// 8 · schemeBytes / (out · in): bits per weight of the module (0 for an empty module).
[[nodiscard]] double schemeBitsPerWeight(const QuantScheme& scheme, Index out, Index in, const ModuleSizeFacts& facts = {});

/// The GPTQ-layout tensors alone (qweight + qzeros + scales + g_idx) of bits/groupSize for
/// [out, in]: what QuantizedWeight::packedBytes() holds.
[[nodiscard]] std::uint64_t gptqLayoutBytes(int bits, const std::optional<int>& groupSize, Index out, Index in);

}  // namespace qb::core

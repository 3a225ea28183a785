#pragma once
// checkGgufExport — reloads a GGUF file through the independent GgufReader and compares it
// with the model it was exported from:
//   - metadata: architecture, sizes, heads, RMSNorm epsilon, RoPE base, vocabulary size, BOS/EOS
//     against the model's config (a mismatch is a problem);
//   - every weight: max |ΔW| against the model's float weights (q/k rows put back from
//     llama.cpp's RoPE order), each value against the bound its block's type guarantees
//     (ggufErrorBound);
//   - logits: windows of tokens run through quantbench's forward twice, with the model's weights
//     and with the file's dequantized weights (and the file's hyper-parameters), layer by layer
//     so a large model streams: max |Δlogit| and top-1 agreement, which must reach
//     ggufMinTop1Agreement(type of the weight matrices). Both forwards use float DenseLinear
//     products of the dense weights (not the model's 16-bit or packed kernels), so Δlogit is the
//     file's doing alone: exactly 0 for an F32 file of an F32/F16/BF16 model.

#include <optional>
#include <string>
#include <vector>

#include "core/export/gguf_reader.h"
#include "core/model/llama_model.h"
#include "core/util/run_context.h"

namespace qb::core {

struct GgufTensorCheck {
    std::string name;
    GgmlType type = GgmlType::F32;
    double maxAbsDiff = 0.0;   ///< max |W_file − W_model|
    double worstRatio = 0.0;   ///< max over values of |ΔW| / bound (≤ 1 passes)
    bool ok = true;
};

struct GgufLogitCheck {
    int windows = 0;
    int ctx = 0;
    double maxAbsDiff = 0.0;     ///< max |Δlogit| over every position and token
    double maxAbsLogit = 0.0;    ///< max |logit| of the model, for scale
    double top1Agreement = 0.0;  ///< share of positions whose arg-max token agrees
    double minTop1 = 0.0;        ///< the floor it had to reach
};

struct GgufCheckReport {
    std::string architecture;
    GgmlType mainType = GgmlType::F32;  ///< the type of most weight matrices (by bytes)
    std::vector<GgufTensorCheck> tensors;
    std::optional<GgufLogitCheck> logits;
    std::vector<std::string> problems;  ///< every mismatch, one line each; empty = passed
    [[nodiscard]] bool ok() const { return problems.empty(); }
};

/// The largest |x − decode(encode(x))| a type allows for one value of a block whose values
/// have absmax amax and range max − min (and smallest value mn): F32 0; F16 |x|·2⁻¹¹; BF16
/// |x|·2⁻⁸; Q8_0 amax(1/254 + 2⁻¹¹); Q4_0 amax(1/8 + 2⁻¹¹) (the clamped end is one step off);
/// Q5_0 amax(1/16 + 2⁻¹¹); Q4_1 range/30 + (|mn| + range)·2⁻¹¹; Q5_1 range/62 + (…)·2⁻¹¹;
/// Q4_K amax/10, Q6_K amax(1/32 + 1/128) over the 256-value super-block (scale quantization included).
[[nodiscard]] double ggufErrorBound(GgmlType type, double x, double amax, double mn, double range);
/// The top-1 agreement floor for a file whose weight matrices are mostly `type`: F32 0.999,
/// F16/BF16 0.9, Q8_0/Q6_K 0.8, Q5 0.5, 4-bit 0.4 — sanity floors against a wrongly built file
/// (random-weight models with flat logits lose many top-1 tokens through a correct 4-bit export).
[[nodiscard]] double ggufMinTop1Agreement(GgmlType type);

/// Checks file against model. tokens: windows × ctx ids (empty = no logit check). Progress and
/// cancel per layer through ctx. Throws Error only for I/O-level failures; mismatches are
/// reported in problems.
[[nodiscard]] GgufCheckReport checkGgufExport(const GgufReader& file, const LlamaModel& model, const std::vector<int>& tokens,
                                              int ctx, const RunContext* run = nullptr);

}  // namespace qb::core

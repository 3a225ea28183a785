#pragma once
// checkHfExport — reloads an exported Hugging Face folder (gptq, awq, compressed-tensors)
// through its independent reader (readers/) and compares it with the quantbench model it was
// exported from:
//   - every linear module, decoded as a loader would: max |ΔW| against the model's dequantized
//     weight. A module the file holds quantized must match exactly (its scales are the model's
//     F16 scales and its codes the model's codes); a module kept in F16 within F16 rounding
//     (|ΔW| ≤ |W|·2⁻¹¹ + 2⁻²⁵); biases within F16 rounding;
//   - the embedding, the norms (SmoothQuant's folded ones included) and the output head exactly;
//   - logits on windows of tokens, the model's forward against a dense forward on the decoded
//     weights: max |Δlogit| and top-1 agreement, which must reach kHfMinTop1 (the weights are
//     the precise check; the logits catch a wrongly assembled folder).

#include <optional>
#include <string>
#include <vector>

#include "core/export/readers/exported_folder_reader.h"
#include "core/model/llama_model.h"
#include "core/util/run_context.h"

namespace qb::core {

/// Top-1 agreement a checked export must reach (the dense forward differs from the packed and
/// int8 kernels only by rounding; F16 fallbacks and W8A8's activation rounding move a few ties).
inline constexpr double kHfMinTop1 = 0.9;

struct HfTensorCheck {
    std::string name;
    std::string storage;      ///< as the reader found it
    double maxAbsDiff = 0.0;  ///< max |W_file − W_model|
    double bound = 0.0;       ///< the largest |ΔW| allowed anywhere in the tensor (0: exact)
    bool ok = true;
};

struct HfLogitCheck {
    int windows = 0;
    int ctx = 0;
    double maxAbsDiff = 0.0;
    double maxAbsLogit = 0.0;
    double top1Agreement = 0.0;
};

struct HfCheckReport {
    std::string format;
    std::string variant;
    std::vector<HfTensorCheck> tensors;
    int exactModules = 0;  ///< linear modules the file holds quantized, decoded exactly
    int f16Modules = 0;    ///< linear modules the file holds as plain weights
    std::optional<HfLogitCheck> logits;
    std::vector<std::string> problems;
    [[nodiscard]] bool ok() const { return problems.empty(); }
};

/// Checks folder against model. tokens: windows × ctx ids (empty = no logit check). Throws
/// Error when the folder is unreadable (a tensor missing or misshapen names it).
[[nodiscard]] HfCheckReport checkHfExport(const ExportedFolderReader& folder, const LlamaModel& model, const std::vector<int>& tokens,
                                          int ctx, const RunContext* run = nullptr);

}  // namespace qb::core

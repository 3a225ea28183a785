#pragma once
// RunRecord — one row of the Results view: a plan applied to the model and what it measured.
// The baseline run is the unquantized model as loaded (its dtype names it: "baseline (F32)").
// Metrics the workbench has not measured stay empty and are drawn as "not measured".
// Immutable once built; shared as std::shared_ptr<const RunRecord>.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/eval/perplexity.h"
#include "core/model/llama_model.h"
#include "core/quant/pipeline.h"

namespace qb::ui {

struct RunRecord {
    int id = 0;                 ///< unique within a workspace, in creation order
    std::string name;           ///< "baseline (F32)", "run 2 · gptq w4 g128"
    bool baseline = false;      ///< the unquantized reference
    std::string planJson;       ///< the plan as the CLI reads it; empty for the baseline
    double bitsPerWeight = 0.0;       ///< over the decoder layers' linear modules
    std::uint64_t linearBytes = 0;    ///< storage bytes of those modules
    double quantizeSeconds = 0.0;
    std::optional<core::PerplexityResult> perplexity;
    std::vector<core::ModuleReport> modules;  ///< per-module relative output error (quantized runs)
    std::optional<double> decodeMsPerToken;        ///< from the benchmark job; empty = not measured
    std::optional<double> prefillTokensPerSecond;  ///< idem
    std::vector<std::string> notes;
    /// The quantized model, while the session is open (not stored in a session file).
    std::shared_ptr<const core::LlamaModel> model;
};

using RunPtr = std::shared_ptr<const RunRecord>;

}  // namespace qb::ui

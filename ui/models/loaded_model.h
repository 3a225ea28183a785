#pragma once
// LoadedModel — a model opened in the workbench: the core model, its checkpoint and tokenizer,
// and the table of linear modules the views list. Immutable once built; shared between the
// GUI thread and job threads as std::shared_ptr<const LoadedModel>.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/model/decoder_layer.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "core/util/run_context.h"

namespace qb::ui {

/// One linear module of the model, in forward order (layer-major, then ModuleKind order).
struct ModuleInfo {
    std::string name;  ///< "model.layers.3.self_attn.q_proj"
    int layer = 0;
    core::ModuleKind kind = core::ModuleKind::Q;
    core::Index outFeatures = 0;
    core::Index inFeatures = 0;
    std::string dtype;   ///< storage dtype in the checkpoint ("F32", "BF16") or the module format ("f32")
    std::string format;  ///< the module's format label ("f32", "gptq int4 g128")

    [[nodiscard]] std::uint64_t parameters() const { return std::uint64_t(outFeatures) * std::uint64_t(inFeatures); }
};

struct LoadedModel {
    std::shared_ptr<const core::Checkpoint> checkpoint;  ///< null for a synthetic model
    std::shared_ptr<const core::LlamaModel> model;
    std::shared_ptr<const core::Tokenizer> tokenizer;    ///< for evaluation and calibration text
    std::filesystem::path dir;  ///< the checkpoint folder (empty for a synthetic model)
    std::string label;          ///< shown in the title bar and the tree root
    std::vector<ModuleInfo> modules;

    [[nodiscard]] const ModuleInfo* find(const std::string& name) const;
    [[nodiscard]] int indexOf(const std::string& name) const;  ///< -1 when absent
    /// Parameters of all linear modules of the decoder layers (what a plan quantizes).
    [[nodiscard]] std::uint64_t linearParameters() const;
};

/// Opens checkpoint folder dir, loads the model and its tokenizer and lists the modules.
/// Runs on a job thread. Throws core::Error with the core's message.
[[nodiscard]] std::shared_ptr<const LoadedModel> loadModelFolder(const std::filesystem::path& dir,
                                                                 const core::RunContext& ctx);

/// Wraps an already built model (e.g. LlamaModel::fromParts) with the tokenizer of tokenizerDir.
/// Throws core::Error when the tokenizer cannot be loaded.
[[nodiscard]] std::shared_ptr<const LoadedModel> wrapModel(std::shared_ptr<const core::LlamaModel> model,
                                                           const std::filesystem::path& tokenizerDir, std::string label);

/// "q_proj", "down_proj" — the column header of a module kind.
[[nodiscard]] std::string shortKindName(core::ModuleKind kind);

}  // namespace qb::ui

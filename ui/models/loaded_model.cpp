#include "ui/models/loaded_model.h"

#include <numeric>

namespace qb::ui {

const ModuleInfo* LoadedModel::find(const std::string& name) const {
    const int i = indexOf(name);
    return i < 0 ? nullptr : &modules[std::size_t(i)];
}

int LoadedModel::indexOf(const std::string& name) const {
    for (std::size_t i = 0; i < modules.size(); ++i)
        if (modules[i].name == name) return int(i);
    return -1;
}

std::uint64_t LoadedModel::linearParameters() const {
    return std::accumulate(modules.begin(), modules.end(), std::uint64_t(0),
                           [](std::uint64_t s, const ModuleInfo& m) { return s + m.parameters(); });
}

std::string shortKindName(core::ModuleKind kind) {
    const std::string suffix = core::moduleSuffix(kind);
    return suffix.substr(suffix.find('.') + 1);
}

namespace {

std::vector<ModuleInfo> listModules(const core::LlamaModel& model, const core::Checkpoint* checkpoint,
                                    const core::RunContext& ctx) {
    std::vector<ModuleInfo> modules;
    const int layers = model.config().numLayers;
    // A streamed float checkpoint is listed from its tensor headers: loading every layer only to
    // read shapes would convert the whole model (seconds for a 1B model) before the tree shows.
    auto floatTensor = [&](const std::string& name) -> const core::TensorInfo* {
        if (model.resident() || !checkpoint) return nullptr;
        const core::TensorInfo* t = checkpoint->find(name + ".weight");
        return t && t->shape.size() == 2 && !checkpoint->find(name + ".qweight") ? t : nullptr;
    };
    for (int i = 0; i < layers; ++i) {
        ctx.throwIfStopped();
        std::shared_ptr<const core::DecoderLayer> layer;
        for (const auto kind : core::kAllModuleKinds) {
            ModuleInfo m;
            m.name = core::moduleName(i, kind);
            m.layer = i;
            m.kind = kind;
            if (const core::TensorInfo* t = floatTensor(m.name)) {
                m.outFeatures = t->shape[0];
                m.inFeatures = t->shape[1];
                m.format = "f32";  // what the forward converts a float tensor to (makeDenseLinear)
            } else {
                if (!layer) layer = model.layer(i);
                const auto& linear = layer->linear(kind);
                m.outFeatures = linear->outFeatures();
                m.inFeatures = linear->inFeatures();
                m.format = linear->format();
            }
            const core::TensorInfo* t = checkpoint ? checkpoint->find(m.name + ".weight") : nullptr;
            m.dtype = t ? core::dtypeName(t->dtype) : m.format;
            modules.push_back(std::move(m));
        }
        ctx.progress(0.5 + 0.5 * double(i + 1) / layers, "listing modules");
    }
    return modules;
}

}  // namespace

std::shared_ptr<const LoadedModel> loadModelFolder(const std::filesystem::path& dir, const core::RunContext& ctx) {
    auto loaded = std::make_shared<LoadedModel>();
    ctx.progress(0.0, "opening checkpoint");
    loaded->checkpoint = core::Checkpoint::open(dir);
    ctx.progress(0.1, "loading weights");
    loaded->model = core::LlamaModel::load(loaded->checkpoint);
    const auto& config = loaded->checkpoint->config();
    ctx.progress(0.4, "loading tokenizer");
    loaded->tokenizer = core::Tokenizer::load(dir, config.bosTokenId, config.eosTokenId);
    loaded->dir = dir;
    loaded->label = dir.filename().empty() ? dir.parent_path().filename().string() : dir.filename().string();
    loaded->modules = listModules(*loaded->model, loaded->checkpoint.get(), ctx);
    ctx.log("loaded " + dir.string() + " (" + std::to_string(loaded->model->parameterCount()) + " parameters, " +
            std::to_string(config.numLayers) + " layers)");
    return loaded;
}

std::shared_ptr<const LoadedModel> wrapModel(std::shared_ptr<const core::LlamaModel> model,
                                             const std::filesystem::path& tokenizerDir, std::string label) {
    auto loaded = std::make_shared<LoadedModel>();
    const auto& config = model->config();
    loaded->tokenizer = core::Tokenizer::load(tokenizerDir, config.bosTokenId, config.eosTokenId);
    loaded->checkpoint = model->checkpoint();
    loaded->model = std::move(model);
    loaded->label = std::move(label);
    loaded->modules = listModules(*loaded->model, loaded->checkpoint.get(), core::RunContext());
    return loaded;
}

}  // namespace qb::ui

#include "support/outlier_model.h"

#include <algorithm>

#include "support/test_support.h"

namespace qb::test {

using namespace qb::core;

namespace {
void divideColumns(LinearPtr& linear, const std::vector<int>& cols, float factor) {
    MatrixRM W = linear->denseWeight();
    for (int c : cols) W.col(c) /= factor;
    linear = std::make_shared<DenseLinear>(std::move(W), linear->bias());
}
}  // namespace

std::shared_ptr<LlamaModel> makeOutlierInjectedModel(const LlamaModel& base, const OutlierInjection& inj) {
    const ModelConfig& c = base.config();
    std::vector<std::shared_ptr<const DecoderLayer>> layers;
    for (int i = 0; i < c.numLayers; ++i) {
        auto L = std::make_shared<DecoderLayer>(*base.layer(i));
        const bool selected = inj.layers.empty() || std::find(inj.layers.begin(), inj.layers.end(), i) != inj.layers.end();
        if (selected) {
            if (inj.attentionNorm) {
                for (int ch : inj.channels) L->inputNorm[ch] *= inj.factor;
                for (ModuleKind k : {ModuleKind::Q, ModuleKind::K, ModuleKind::V}) divideColumns(L->linear(k), inj.channels, inj.factor);
            }
            if (inj.mlpNorm) {
                for (int ch : inj.channels) L->postAttentionNorm[ch] *= inj.factor;
                for (ModuleKind k : {ModuleKind::Gate, ModuleKind::Up}) divideColumns(L->linear(k), inj.channels, inj.factor);
            }
        }
        layers.push_back(L);
    }
    return LlamaModel::fromParts(c, base.embeddingPtr(), std::move(layers), base.finalNorm(),
                                 c.tieWordEmbeddings ? nullptr : base.lmHeadPtr());
}

std::shared_ptr<const LlamaModel> bundledModel() {
    static std::shared_ptr<const LlamaModel> model = LlamaModel::load(Checkpoint::open(bundledModelDir()));
    return model;
}

}  // namespace qb::test

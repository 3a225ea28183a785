#include "core/quant/omniquant/lwc_trainer.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "core/quant/omniquant/adamw.h"
#include "core/quant/omniquant/block_backward.h"
#include "core/quant/omniquant/lwc.h"
#include "core/util/error.h"

namespace qb::core::omniquant {

namespace {

// One trained module: its weight, clipping parameters, rounding of the last step, optimizers.
struct TrainedModule {
    ModuleKind kind;
    LwcWeight<float> weight;
    LwcParams<float> params;
    LwcRounding<float> rounding;
    std::unique_ptr<AdamW> optA, optB;
};

std::string epochStage(int layer, int epoch, int epochs, double loss) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "layer %d: LWC epoch %d/%d, loss %.4g", layer, epoch, epochs, loss);
    return buf;
}

}  // namespace

LwcLayerResult trainLayerLwc(const ModelConfig& c, const DecoderLayer& layer,
                             const std::array<std::optional<WeightGridSpec>, 7>& grids, const MatrixRM& quantInputs,
                             const MatrixRM& fpTargets, Index T, const OmniQuantOptions& options, const RunContext& ctx) {
    const auto start = std::chrono::steady_clock::now();
    if (T <= 0 || quantInputs.rows() == 0 || quantInputs.rows() % T != 0 || fpTargets.rows() != quantInputs.rows() ||
        fpTargets.cols() != quantInputs.cols())
        throw Error("omniquant: the calibration inputs and targets are not whole windows of the same shape");
    const Index windows = quantInputs.rows() / T;

    BlockWeights<float> weights = blockWeightsOf<float>(layer);  // float weights; trained ones replaced by Ŵ each step
    const BlockShape<float> shape = blockShapeOf<float>(c, layer.index, T);
    const AdamWOptions adam{.lr = options.lrLwc};  // AdamW, weight decay 0 (the official --wd default)
    std::vector<TrainedModule> modules;
    std::array<bool, 7> trained{};
    for (ModuleKind k : kAllModuleKinds) {
        if (!grids[std::size_t(k)]) continue;
        TrainedModule m{k, lwcWeightOf<float>(weights.weight(k), *grids[std::size_t(k)]), {}, {}, nullptr, nullptr};
        m.params = initialLwcParams<float>(m.weight.W.rows(), m.weight.W.cols(), m.weight.spec);
        m.optA = std::make_unique<AdamW>(m.params.a.rows(), m.params.a.cols(), adam);
        m.optB = std::make_unique<AdamW>(m.params.b.rows(), m.params.b.cols(), adam);
        trained[std::size_t(k)] = true;
        modules.push_back(std::move(m));
    }
    if (modules.empty()) throw Error("omniquant: no module of layer " + std::to_string(layer.index) + " is trained");

    // --aug_loss: the float layer's own output on the quantized inputs, F(W, X_q).
    MatrixRM augTargets;
    if (options.augLoss) {
        augTargets = quantInputs;
        for (Index w = 0; w < windows; ++w) {
            MatrixRM h = augTargets.middleRows(w * T, T);
            runDecoderLayer(c, layer, h, T);
            augTargets.middleRows(w * T, T) = h;
        }
    }

    LwcLayerResult result;
    BlockCache<float> cache;
    MatrixS<float> da, db;
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
        double lossSum = 0.0;
        for (Index w = 0; w < windows; ++w) {
            ctx.throwIfStopped();
            // Ŵ = Q(W; a, b) for every trained module (eq. 2)
            for (auto& m : modules) weights.weight(m.kind) = lwcFakeQuantize(m.weight, m.params, m.rounding);
            const MatrixS<float> Xq = quantInputs.middleRows(w * T, T);
            const MatrixS<float> Y = blockForward(shape, weights, Xq, cache);  // F(Ŵ, X_q) [T, D]
            // L = mean((F(Ŵ, X_q) − F(W, X_fp))²), ∂L/∂y = 2·(y − y_fp) / (T·D)
            const MatrixS<float> diff = Y - fpTargets.middleRows(w * T, T);
            lossSum += double(diff.squaredNorm()) / double(diff.size());
            MatrixS<float> dy = diff * (2.0f / float(diff.size()));
            if (options.augLoss) {  // + mean((F(Ŵ, X_q) − F(W, X_q))²)
                const MatrixS<float> diffAug = Y - augTargets.middleRows(w * T, T);
                lossSum += double(diffAug.squaredNorm()) / double(diffAug.size());
                dy += diffAug * (2.0f / float(diffAug.size()));
            }
            const BlockGradients<float> g = blockBackward(shape, weights, cache, dy, trained, false);
            for (auto& m : modules) {
                lwcBackward(m.weight, m.rounding, g.dW[std::size_t(m.kind)], da, db);
                m.optA->step(m.params.a, da);
                m.optB->step(m.params.b, db);
            }
        }
        const double loss = lossSum / double(windows);
        result.epochLoss.push_back(loss);
        ctx.progress(double(epoch + 1) / double(options.epochs), epochStage(layer.index, epoch + 1, options.epochs, loss));
    }
    for (auto& m : modules) result.weights[std::size_t(m.kind)] = lwcQuantize(m.weight, m.params);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace qb::core::omniquant

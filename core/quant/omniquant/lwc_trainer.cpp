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

// One LET scale vector and its optimizer (AdamW works on matrices: the vector is a [1, n] row).
struct TrainedScale {
    VectorS<float>* scale;
    std::unique_ptr<AdamW> opt;
    void step(const VectorS<float>& grad) {
        MatrixS<float> theta = scale->transpose(), g = grad.transpose();
        opt->step(theta, g);
        *scale = theta.transpose();
    }
};

std::string epochStage(int layer, const std::string& what, int epoch, int epochs, double loss) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "layer %d: %s epoch %d/%d, loss %.4g", layer, what.c_str(), epoch, epochs, loss);
    return buf;
}

// Per-channel max |x| of the full-precision layer's linear inputs xn₁, a, xn₂ over every window.
LetActivationMax<float> fpActivationMax(const BlockShape<float>& fpShape, const BlockWeights<float>& fp, const MatrixRM& fpInputs,
                                        Index T) {
    LetActivationMax<float> m;
    BlockCache<float> cache;
    const auto fold = [](VectorS<float>& acc, const MatrixS<float>& x) {
        const VectorS<float> v = x.cwiseAbs().colwise().maxCoeff().transpose();
        acc = acc.size() ? VectorS<float>(acc.cwiseMax(v)) : v;
    };
    for (Index w = 0; w < fpInputs.rows() / T; ++w) {
        const MatrixS<float> x = fpInputs.middleRows(w * T, T);
        (void)blockForward(fpShape, fp, x, cache);
        fold(m.qkv, cache.xn1);
        fold(m.out, cache.a);
        fold(m.fc1, cache.xn2);
    }
    return m;
}

}  // namespace

LwcLayerResult trainLayerOmniQuant(const ModelConfig& c, const DecoderLayer& layer, const OmniQuantLayerSpec& spec,
                                   const MatrixRM& quantInputs, const MatrixRM& fpInputs, const MatrixRM& fpTargets, Index T,
                                   const OmniQuantOptions& options, const RunContext& ctx) {
    const auto start = std::chrono::steady_clock::now();
    if (T <= 0 || quantInputs.rows() == 0 || quantInputs.rows() % T != 0 || fpTargets.rows() != quantInputs.rows() ||
        fpTargets.cols() != quantInputs.cols())
        throw Error("omniquant: the calibration inputs and targets are not whole windows of the same shape");
    const bool let = spec.letQkv || spec.letFc1 || spec.letOut;
    if (let && (fpInputs.rows() != quantInputs.rows() || fpInputs.cols() != quantInputs.cols()))
        throw Error("omniquant: the full-precision inputs do not match the calibration inputs");
    const Index windows = quantInputs.rows() / T;

    const BlockWeights<float> fp = blockWeightsOf<float>(layer);  // the float weights W
    BlockWeights<float> weights = fp;  // what the forward reads: W̃, with the trained ones replaced by Q(W̃) each step
    BlockShape<float> shape = blockShapeOf<float>(c, layer.index, T);
    const AdamWOptions adam{.lr = options.lrLwc};  // AdamW, weight decay 0 (the official --wd default)
    std::vector<TrainedModule> modules;
    std::array<bool, 7> trained{};
    for (ModuleKind k : kAllModuleKinds) {
        if (!spec.grids[std::size_t(k)]) continue;
        TrainedModule m{k, lwcWeightOf<float>(fp.weight(k), *spec.grids[std::size_t(k)]), {}, {}, nullptr, nullptr};
        m.params = initialLwcParams<float>(m.weight.W.rows(), m.weight.W.cols(), m.weight.spec, options.lwc ? kLwcInit : kLwcOff);
        m.optA = std::make_unique<AdamW>(m.params.a.rows(), m.params.a.cols(), adam);
        m.optB = std::make_unique<AdamW>(m.params.b.rows(), m.params.b.cols(), adam);
        trained[std::size_t(k)] = true;
        modules.push_back(std::move(m));
    }
    if (modules.empty()) throw Error("omniquant: no module of layer " + std::to_string(layer.index) + " is trained");

    // LET: the scales, initialised from the full-precision layer's inputs (before actBits is set).
    LetScales<float> scales;
    std::vector<TrainedScale> scaleOpts;
    if (let) {
        scales = initialLetScales<float>(fp, shape.attention, fpActivationMax(shape, fp, fpInputs, T), options.letAlpha,
                                         spec.letQkv, spec.letFc1, spec.letOut);
        const AdamWOptions adamLet{.lr = options.lrLet};
        for (VectorS<float>* v : {&scales.qkv, &scales.fc1, &scales.out})
            if (v->size()) scaleOpts.push_back({v, std::make_unique<AdamW>(1, v->size(), adamLet)});
    }
    shape.actBits = spec.actBits;

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

    BlockGradientRequest request;
    request.weight = let ? std::array<bool, 7>{true, true, true, true, true, true, true} : trained;
    request.norms = let;
    LwcLayerResult result;
    BlockCache<float> cache;
    MatrixS<float> da, db;
    std::array<MatrixS<float>, 7> dWtilde;
    const std::string what = omniQuantTrainingName(options.lwc, let);
    const int epochs = options.lwc || let ? options.epochs : 0;  // nothing to learn: the quantizers as initialised
    for (int epoch = 0; epoch < epochs; ++epoch) {
        double lossSum = 0.0;
        for (Index w = 0; w < windows; ++w) {
            ctx.throwIfStopped();
            if (let) {  // W̃, g̃ = LET(W, g; s) (eqs. 3–5), s truncated as the official code does
                truncateLetScales(scales);
                weights = applyLet(fp, scales, shape.attention);
                for (auto& m : modules) m.weight = lwcWeightOf<float>(weights.weight(m.kind), m.weight.spec);
            }
            // Ŵ = Q(W̃; a, b) for every trained module (eq. 2)
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
            BlockGradients<float> g = blockBackward(shape, weights, cache, dy, request);
            for (auto& m : modules) {  // ∂L/∂a, ∂L/∂b from ∂L/∂Ŵ
                if (!options.lwc) break;  // plain min–max: nothing to learn
                lwcBackward(m.weight, m.rounding, g.dW[std::size_t(m.kind)], da, db);
                m.optA->step(m.params.a, da);
                m.optB->step(m.params.b, db);
            }
            if (let) {  // ∂L/∂W̃: through the clipping's quantizer for trained modules, directly for the others; then ∂L/∂s
                for (ModuleKind k : kAllModuleKinds) dWtilde[std::size_t(k)] = std::move(g.dW[std::size_t(k)]);
                for (auto& m : modules)
                    dWtilde[std::size_t(m.kind)] = lwcWeightBackward(m.weight, m.rounding, dWtilde[std::size_t(m.kind)]);
                const LetScales<float> ds = letBackward(fp, scales, shape.attention, dWtilde, g.dBias[std::size_t(ModuleKind::V)],
                                                        g.dInputNorm, g.dPostAttentionNorm);
                const VectorS<float>* grads[] = {&ds.qkv, &ds.fc1, &ds.out};
                std::size_t i = 0;
                for (const VectorS<float>* d : grads)
                    if (d->size()) scaleOpts[i++].step(*d);
            }
        }
        const double loss = lossSum / double(windows);
        result.epochLoss.push_back(loss);
        ctx.curvePoint("layer " + std::to_string(layer.index), double(epoch + 1), loss);
        ctx.progress(double(epoch + 1) / double(epochs), epochStage(layer.index, what, epoch + 1, epochs, loss));
    }
    if (let) {  // the final W̃ the clipping was learned on
        truncateLetScales(scales);
        weights = applyLet(fp, scales, shape.attention);
        for (auto& m : modules) m.weight = lwcWeightOf<float>(weights.weight(m.kind), m.weight.spec);
        result.let = scales;
    }
    for (auto& m : modules) result.weights[std::size_t(m.kind)] = lwcQuantize(m.weight, m.params);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

std::string omniQuantTrainingName(bool lwc, bool let) {
    return lwc && let ? "LWC+LET" : lwc ? "LWC" : let ? "LET" : "RTN (nothing learned)";
}

LwcLayerResult trainLayerLwc(const ModelConfig& c, const DecoderLayer& layer, const std::array<std::optional<WeightGridSpec>, 7>& grids,
                             const MatrixRM& quantInputs, const MatrixRM& fpTargets, Index T, const OmniQuantOptions& options,
                             const RunContext& ctx) {
    OmniQuantLayerSpec spec;
    spec.grids = grids;
    return trainLayerOmniQuant(c, layer, spec, quantInputs, MatrixRM(), fpTargets, T, options, ctx);
}

}  // namespace qb::core::omniquant

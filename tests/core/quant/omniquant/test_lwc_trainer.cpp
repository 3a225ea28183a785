// OmniQuant's block training on a layer of the bundled model: the training forward is the
// model's forward, and a few epochs of AdamW lower the block's output error below the initial
// clipping (and below plain RTN).
#include <QtTest>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/quant/omniquant/block_forward.h"
#include "core/quant/omniquant/lwc.h"
#include "core/quant/omniquant/lwc_trainer.h"
#include "core/quant/rtn.h"
#include "core/text/tokenizer.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

constexpr Index kT = 128;
constexpr int kWindows = 8;

// The layer with the given modules replaced by quantized weights.
DecoderLayer withWeights(const DecoderLayer& layer, const std::array<std::optional<QuantizedWeight>, 7>& weights) {
    DecoderLayer L = layer;
    for (ModuleKind k : kAllModuleKinds)
        if (const auto& w = weights[std::size_t(k)]) L.linear(k) = std::make_shared<QuantizedLinear>(*w, std::nullopt, "test");
    return L;
}

}  // namespace

class TestLwcTrainer : public QObject {
    Q_OBJECT

    std::shared_ptr<const LlamaModel> m_model;
    MatrixRM m_x;       // layer 1's input on the calibration windows [kWindows·kT, D]
    MatrixRM m_target;  // layer 1's FP output

    double blockError(const DecoderLayer& L) const {
        MatrixRM y = m_x;
        runDecoderLayer(m_model->config(), L, y, kT);
        return double((y - m_target).squaredNorm()) / double(y.size());
    }

private slots:
    void initTestCase() {
        // One thread: on a loaded 2-core CI machine a training step's two OpenMP threads mostly
        // wait for each other (BENCHMARKS.md, OmniQuant), which made this suite several times slower.
        setThreadCount(1);
        m_model = qb::test::bundledModel();
        const auto stream = qb::test::bundledTokens("calib.txt");
        const auto calib = sampleCalibration(stream, {.windows = kWindows, .ctx = int(kT), .seed = 0});
        m_x = m_model->embed(calib.tokens);
        m_model->runLayer(0, m_x, kT);
        m_target = m_x;
        m_model->runLayer(1, m_target, kT);
    }

    // blockForward with the float weights is runDecoderLayer (float rounding apart).
    void forwardIsTheModelsForward() {
        const auto& L = *m_model->layer(1);
        const auto shape = omniquant::blockShapeOf<float>(m_model->config(), 1, kT);
        omniquant::BlockCache<float> cache;
        const MatrixRM y = omniquant::blockForward(shape, omniquant::blockWeightsOf<float>(L), m_x, cache);
        const double rel = (y - m_target).norm() / m_target.norm();
        qInfo("relative difference to runDecoderLayer: %.2e", rel);
        QVERIFY(rel < 1e-5);
    }

    void fewEpochsLowerTheBlockLoss() {
        const auto& L = *m_model->layer(1);
        std::array<std::optional<WeightGridSpec>, 7> grids;
        grids.fill(WeightGridSpec{3, 32, false});
        OmniQuantOptions o;
        o.epochs = 0;
        const auto initial = omniquant::trainLayerLwc(m_model->config(), L, grids, m_x, m_target, kT, o, {});
        QVERIFY(initial.epochLoss.empty());
        o.epochs = 4;
        o.lrLwc = 5e-2;  // 32 steps: at the paper's 5e-3 a moves ≤ 0.16 and γ = σ(a) by ≤ 0.003
        const auto trained = omniquant::trainLayerLwc(m_model->config(), L, grids, m_x, m_target, kT, o, {});
        QCOMPARE(int(trained.epochLoss.size()), 4);

        std::array<std::optional<QuantizedWeight>, 7> rtn;
        for (ModuleKind k : kAllModuleKinds) rtn[std::size_t(k)] = quantizeRtn(L.linear(k)->denseWeight(), *grids[0]);
        const double eRtn = blockError(withWeights(L, rtn));
        const double eInit = blockError(withWeights(L, initial.weights));
        const double eTrained = blockError(withWeights(L, trained.weights));
        qInfo("block MSE: RTN %.4g, initial clipping %.4g, after 4 epochs %.4g (epoch losses %.4g … %.4g)", eRtn, eInit, eTrained,
              trained.epochLoss.front(), trained.epochLoss.back());
        QVERIFY(trained.epochLoss.back() < trained.epochLoss.front());
        QVERIFY(eTrained < 0.9 * eInit);
        QVERIFY(eTrained < 0.9 * eRtn);
    }

    // aug_loss adds the MSE to F(W, X_q); here X_q = X_fp, so that term equals the first and the
    // loss doubles (AdamW is invariant to the gradient's scale up to ε, so the steps agree).
    void augLossAddsTheSameInputTerm() {
        std::array<std::optional<WeightGridSpec>, 7> grids;
        grids.fill(WeightGridSpec{3, 32, false});
        OmniQuantOptions o;
        o.epochs = 1;
        const auto plain = omniquant::trainLayerLwc(m_model->config(), *m_model->layer(1), grids, m_x, m_target, kT, o, {});
        o.augLoss = true;
        const auto aug = omniquant::trainLayerLwc(m_model->config(), *m_model->layer(1), grids, m_x, m_target, kT, o, {});
        qInfo("epoch loss %.6g, with aug_loss %.6g", plain.epochLoss[0], aug.epochLoss[0]);
        QVERIFY(std::abs(aug.epochLoss[0] / (2.0 * plain.epochLoss[0]) - 1.0) < 1e-3);  // targets from batches of another size
    }

    // lwc: false (the official code without --lwc) keeps the plain min–max grid: with nothing
    // else to learn the layer is RTN code for code; with LET the scales alone lower the W4A4 loss.
    void withoutLwcTheGridIsRtn() {
        const auto& L = *m_model->layer(1);
        std::array<std::optional<WeightGridSpec>, 7> grids;
        grids.fill(WeightGridSpec{4, 32, false});
        OmniQuantOptions o;
        o.lwc = false;
        const auto r = omniquant::trainLayerLwc(m_model->config(), L, grids, m_x, m_target, kT, o, {});
        QVERIFY(r.epochLoss.empty());  // nothing learnable: no epoch is run
        for (ModuleKind k : kAllModuleKinds) {
            const QuantizedWeight rtn = quantizeRtn(L.linear(k)->denseWeight(), *grids[0]);
            QCOMPARE(r.weights[std::size_t(k)]->codes, rtn.codes);
            QCOMPARE(r.weights[std::size_t(k)]->scales, rtn.scales);
        }

        omniquant::OmniQuantLayerSpec spec;
        spec.grids = grids;
        spec.actBits = 4;
        spec.letQkv = spec.letFc1 = spec.letOut = true;
        o.epochs = 3;
        const auto let = omniquant::trainLayerOmniQuant(m_model->config(), L, spec, m_x, m_x, m_target, kT, o, {});
        QCOMPARE(int(let.epochLoss.size()), 3);
        qInfo("W4A4, LET alone: epoch losses %.4g … %.4g", let.epochLoss.front(), let.epochLoss.back());
        QVERIFY(let.epochLoss.back() < let.epochLoss.front());
        QVERIFY(let.let.has_value());
    }

    void cancelStopsTheTraining() {
        std::array<std::optional<WeightGridSpec>, 7> grids;
        grids[std::size_t(ModuleKind::Down)] = WeightGridSpec{4, 32, false};
        RunContext ctx;
        ctx.requestStop();
        QVERIFY_THROWS_EXCEPTION(Cancelled, (void)omniquant::trainLayerLwc(m_model->config(), *m_model->layer(1), grids, m_x,
                                                                           m_target, kT, OmniQuantOptions{}, ctx));
    }
};

QTEST_APPLESS_MAIN(TestLwcTrainer)
#include "test_lwc_trainer.moc"

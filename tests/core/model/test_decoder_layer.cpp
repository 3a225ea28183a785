// DecoderLayer: the named activation taps, and an invariance of the whole model.
#include <QtTest>

#include <tuple>

#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/model/decoder_layer.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;
using core::Index;
using core::MatrixRM;
using core::ModuleKind;

namespace {

// hidden 32, 4 query heads over 2 kv heads of dim 12 (so o_proj reads 48 features), MLP 40:
// every module input has a width that tells it apart.
core::ModelConfig smallConfig() {
    core::ModelConfig c;
    c.hiddenSize = 32;
    c.intermediateSize = 40;
    c.numLayers = 1;
    c.numHeads = 4;
    c.numKvHeads = 2;
    c.headDim = 12;
    c.vocabSize = 16;
    c.maxPositions = 64;
    c.rmsNormEps = 1e-5;
    return c;
}

core::DecoderLayer randomLayer(const core::ModelConfig& c, int index) {
    core::DecoderLayer layer;
    layer.index = index;
    layer.inputNorm = test::randomMatrix(c.hiddenSize, 1, 1).col(0).cwiseAbs();
    layer.postAttentionNorm = test::randomMatrix(c.hiddenSize, 1, 2).col(0).cwiseAbs();
    const Index q = Index(c.numHeads) * c.headDim, kv = Index(c.numKvHeads) * c.headDim;
    const Index shapes[7][2] = {{q, c.hiddenSize},  {kv, c.hiddenSize}, {kv, c.hiddenSize},
                                {c.hiddenSize, q},  {c.intermediateSize, c.hiddenSize},
                                {c.intermediateSize, c.hiddenSize}, {c.hiddenSize, c.intermediateSize}};
    for (std::size_t m = 0; m < 7; ++m)
        layer.linears[m] = std::make_shared<core::DenseLinear>(test::randomMatrix(shapes[m][0], shapes[m][1], 10 + unsigned(m), 0.2f));
    return layer;
}

}  // namespace

class TestDecoderLayer : public QObject {
    Q_OBJECT
private slots:
    void tapSeesEachModuleInputByNameWithItsShape() {
        const auto c = smallConfig();
        const auto layer = randomLayer(c, 3);
        const MatrixRM x = test::randomMatrix(2 * 10, c.hiddenSize, 5);  // 2 windows of T = 10
        MatrixRM hidden = x;
        std::vector<std::tuple<std::string, Index, Index>> seen;
        MatrixRM qInput;
        core::FunctionTap tap([](const std::string&) { return true; },
                              [&](const std::string& name, const core::ConstMatrixRef& X) {
                                  seen.emplace_back(name, X.rows(), X.cols());
                                  if (name == "model.layers.3.self_attn.q_proj") qInput = X;
                              });
        core::runDecoderLayer(c, layer, hidden, 10, &tap);

        const std::vector<std::tuple<std::string, Index, Index>> expected = {
            {"model.layers.3.self_attn.q_proj", 20, 32}, {"model.layers.3.self_attn.k_proj", 20, 32},
            {"model.layers.3.self_attn.v_proj", 20, 32}, {"model.layers.3.self_attn.o_proj", 20, 48},
            {"model.layers.3.mlp.gate_proj", 20, 32},    {"model.layers.3.mlp.up_proj", 20, 32},
            {"model.layers.3.mlp.down_proj", 20, 40}};
        QCOMPARE(seen, expected);
        MatrixRM normed;
        core::rmsNorm(x, layer.inputNorm, c.rmsNormEps, normed);
        QCOMPARE(qInput, normed);  // q_proj's input is RMSNorm₁(x), bit for bit
    }
    void moduleNamesFollowHuggingFace() {
        QCOMPARE(core::moduleName(0, ModuleKind::Q), std::string("model.layers.0.self_attn.q_proj"));
        QCOMPARE(core::moduleName(12, ModuleKind::O), std::string("model.layers.12.self_attn.o_proj"));
        QCOMPARE(core::moduleName(7, ModuleKind::Up), std::string("model.layers.7.mlp.up_proj"));
        QCOMPARE(core::moduleName(1, ModuleKind::Down), std::string("model.layers.1.mlp.down_proj"));
    }
    void declinedModulesAreNotObservedAndChangeNothing() {
        const auto c = smallConfig();
        const auto layer = randomLayer(c, 0);
        const MatrixRM x = test::randomMatrix(16, c.hiddenSize, 6);
        MatrixRM withTap = x, without = x;
        int asked = 0, observed = 0;
        core::FunctionTap tap([&](const std::string&) { return ++asked, false; },
                              [&](const std::string&, const core::ConstMatrixRef&) { ++observed; });
        core::runDecoderLayer(c, layer, withTap, 8, &tap);
        core::runDecoderLayer(c, layer, without, 8);
        QCOMPARE(asked, 7);
        QCOMPARE(observed, 0);
        QCOMPARE(withTap, without);
    }
    void rowsThatAreNotWholeWindowsAreAnError() {
        const auto c = smallConfig();
        const auto layer = randomLayer(c, 0);
        MatrixRM hidden = test::randomMatrix(15, c.hiddenSize, 7);
        QVERIFY_THROWS_EXCEPTION(core::Error, core::runDecoderLayer(c, layer, hidden, 8));
    }
    void scalingANormChannelAgainstQkvColumnsLeavesLogitsUnchanged() {
        // RMSNorm₁ output channel c feeds only q/k/v column c: (γ_c·40) · (W[:, c]/40) = γ_c · W[:, c].
        constexpr int kChannel = 17;
        constexpr float kFactor = 40.0f;
        constexpr double kRelTolerance = 1e-4;
        const auto ckpt = core::Checkpoint::open(test::bundledModelDir());
        const auto reference = core::LlamaModel::load(ckpt);
        const auto scaled = core::LlamaModel::load(ckpt);
        for (int i = 0; i < ckpt->config().numLayers; ++i) {
            auto layer = std::make_shared<core::DecoderLayer>(*reference->layer(i));
            layer->inputNorm(kChannel) *= kFactor;
            for (ModuleKind kind : {ModuleKind::Q, ModuleKind::K, ModuleKind::V}) {
                MatrixRM W = layer->linear(kind)->denseWeight();
                W.col(kChannel) /= kFactor;
                layer->linear(kind) = std::make_shared<core::DenseLinear>(std::move(W));
            }
            scaled->setLayer(i, layer);
        }
        const auto tok = core::Tokenizer::load(test::bundledModelDir(), 1, 2);
        auto tokens = core::encodeDocuments(*tok, core::readTextFile(test::bundledText("eval.txt")));
        tokens.resize(128);
        const MatrixRM a = reference->forward(tokens, 64);
        const MatrixRM b = scaled->forward(tokens, 64);
        const double rel = (a - b).cwiseAbs().maxCoeff() / a.cwiseAbs().maxCoeff();
        QVERIFY2(rel < kRelTolerance, qPrintable(QString::number(rel)));
        // ... and the change is real: the scaled norm weight differs from the reference.
        QCOMPARE(scaled->layer(0)->inputNorm(kChannel), reference->layer(0)->inputNorm(kChannel) * kFactor);
    }
};

QTEST_APPLESS_MAIN(TestDecoderLayer)
#include "test_decoder_layer.moc"

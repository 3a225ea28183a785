// KV-cache decoding (core/model/decode.h) on the bundled model, float and quantized, against
// generateGreedy's full recompute; and the perplexity of a quantized model run through the
// packed kernels against the same model run through its dequantized float weights.
#include <QtTest>

#include "core/calib/calibration.h"
#include "core/eval/generate.h"
#include "core/eval/perplexity.h"
#include "core/model/decode.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/rtn.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

constexpr int kGeneratedTokens = 40;
constexpr double kPerplexityTolerance = 1e-4;  // relative

// A copy of model whose linears are built by make(linear).
template <class Make>
std::shared_ptr<LlamaModel> transformed(const LlamaModel& model, Make&& make) {
    std::vector<std::shared_ptr<const DecoderLayer>> layers;
    for (int i = 0; i < model.config().numLayers; ++i) {
        auto L = std::make_shared<DecoderLayer>(*model.layer(i));
        for (ModuleKind k : kAllModuleKinds) L->linear(k) = make(*L->linear(k));
        layers.push_back(L);
    }
    return LlamaModel::fromParts(model.config(), model.embeddingPtr(), std::move(layers), model.finalNorm(), nullptr);
}

std::shared_ptr<LlamaModel> rtnW4g32(const LlamaModel& model) {
    return transformed(model, [](const Linear& l) -> LinearPtr {
        return std::make_shared<QuantizedLinear>(quantizeRtn(l.denseWeight(), {4, 32, false}), l.bias(), "rtn");
    });
}

}  // namespace

class TestDecode : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        m_model = loadModel(test::bundledModelDir());
        const auto& c = m_model->config();
        const auto tok = Tokenizer::load(test::bundledModelDir(), c.bosTokenId, c.eosTokenId);
        m_prompt = {1};
        for (int id : tok->encode("Once upon a time")) m_prompt.push_back(id);
    }
    void kvCacheGreedyEqualsFullRecompute() {
        const auto full = generateGreedy(*m_model, m_prompt, kGeneratedTokens);
        const auto cached = generateGreedyCached(*m_model, m_prompt, kGeneratedTokens);
        QCOMPARE(int(full.size()), kGeneratedTokens);
        QCOMPARE(cached, full);
    }
    void quantizedModelDecodesThroughPackedKernels() {
        const auto q = rtnW4g32(*m_model);
        const auto full = generateGreedy(*q, m_prompt, kGeneratedTokens);
        const auto cached = generateGreedyCached(*q, m_prompt, kGeneratedTokens);
        QCOMPARE(cached, full);
    }
    void stepLogitsMatchTheFullForward() {
        KvDecoder d(*m_model, 16);
        std::vector<int> seq = m_prompt;
        VectorF logits = d.prefill(seq);
        for (int s = 0; s < 6; ++s) {
            Index next = 0;
            logits.maxCoeff(&next);
            seq.push_back(int(next));
            logits = d.step(int(next));
            const MatrixRM ref = m_model->forward(seq, Index(seq.size()));
            QVERIFY((logits.transpose() - ref.bottomRows(1)).cwiseAbs().maxCoeff() < 1e-4f * ref.cwiseAbs().maxCoeff());
        }
        QCOMPARE(d.length(), Index(seq.size()));
    }
    void decoderChecksItsBounds() {
        KvDecoder d(*m_model, 4);
        QVERIFY_THROWS_EXCEPTION(Error, d.step(5));
        QVERIFY_THROWS_EXCEPTION(Error, d.prefill({}));
        QVERIFY_THROWS_EXCEPTION(Error, d.prefill({1, 2, 3, 4, 5}));
        d.prefill({1, 2, 3});
        d.step(4);
        QVERIFY_THROWS_EXCEPTION(Error, d.step(5));
        QVERIFY_THROWS_EXCEPTION(Error, KvDecoder(*m_model, m_model->config().maxPositions + 1));
        const DecodeTiming t = timeGreedyDecode(*m_model, {1, 2, 3}, 5, 2);
        QCOMPARE(t.generatedTokens, 5);
        QCOMPARE(int(t.stepSeconds.size()), 4);
        QVERIFY(t.prefillTokensPerSecond() > 0);
    }
    void packedPerplexityEqualsDequantizedPerplexity() {
        // The deployed model (packed kernels) against the old path (its dequantized float weights).
        const auto q = rtnW4g32(*m_model);
        const auto dense = transformed(*q, [](const Linear& l) -> LinearPtr { return std::make_shared<DenseLinear>(l.denseWeight(), l.bias()); });
        const auto& c = m_model->config();
        const auto tok = Tokenizer::load(test::bundledModelDir(), c.bosTokenId, c.eosTokenId);
        const auto stream = test::bundledTokens("eval.txt");
        PerplexityOptions o;
        o.ctx = 512;
        o.maxWindows = 24;
        const double packed = evaluatePerplexity(*q, stream, o).perplexity;
        const double ref = evaluatePerplexity(*dense, stream, o).perplexity;
        qInfo("RTN W4 g32, 24 windows: packed kernels %.6f, dequantized float %.6f", packed, ref);
        QVERIFY(std::abs(packed / ref - 1.0) < kPerplexityTolerance);
    }

private:
    std::shared_ptr<LlamaModel> m_model;
    std::vector<int> m_prompt;
};

QTEST_APPLESS_MAIN(TestDecode)
#include "test_decode.moc"

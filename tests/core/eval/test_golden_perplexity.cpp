// Known figure of the bundled stories260K model (resources/models/stories260K/README.md):
// perplexity on all of eval.txt at context 512. Scores 312 windows: the slowest test here.
#include <QtTest>

#include <cmath>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;

namespace {

constexpr double kKnownPerplexity = 3.9153;          // independent float32 implementation
constexpr double kKnownMeanLoss = 1.3649;            // nats, 4 decimals
constexpr double kPerplexityRelTolerance = 5e-4;     // 0.05 %
constexpr std::int64_t kKnownPredictions = 159432;   // 312 windows × 511

}  // namespace

class TestGoldenPerplexity : public QObject {
    Q_OBJECT
private slots:
    void perplexityOnEvalTextAtContext512() {
        core::setThreadCount(2);
        const auto ckpt = core::Checkpoint::open(test::bundledModelDir());
        const auto model = core::LlamaModel::load(ckpt);
        const auto tok = core::Tokenizer::load(test::bundledModelDir(), ckpt->config().bosTokenId, ckpt->config().eosTokenId);
        const auto stream = core::encodeDocuments(*tok, core::readTextFile(test::bundledText("eval.txt")));
        core::PerplexityOptions options;
        options.ctx = 512;
        const auto r = core::evaluatePerplexity(*model, stream, options);
        qInfo("perplexity %.6f, mean loss %.6f, %lld predictions, %.0f tokens/s", r.perplexity, r.meanLoss,
              static_cast<long long>(r.predictions), r.tokensPerSecond);
        QCOMPARE(r.predictions, kKnownPredictions);
        QCOMPARE(r.windows, 312);
        QCOMPARE(r.ctx, 512);
        QVERIFY2(std::abs(r.perplexity - kKnownPerplexity) / kKnownPerplexity < kPerplexityRelTolerance,
                 qPrintable(QString::number(r.perplexity, 'f', 6)));
        QVERIFY(std::abs(r.meanLoss - kKnownMeanLoss) < 5e-5);
    }
};

QTEST_APPLESS_MAIN(TestGoldenPerplexity)
#include "test_golden_perplexity.moc"

// Perplexity protocol: non-overlapping windows, ctx−1 predictions each, the tail dropped.
#include <QtTest>

#include <cmath>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/generate.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;
using core::MatrixRM;

class TestPerplexity : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<core::LlamaModel> m_model;
    std::vector<int> m_stream;

private slots:
    void initTestCase() {
        core::setThreadCount(2);
        m_model = core::LlamaModel::load(core::Checkpoint::open(test::bundledModelDir()));
        const auto tok = core::Tokenizer::load(test::bundledModelDir(), 1, 2);
        m_stream = core::encodeDocuments(*tok, core::readTextFile(test::bundledText("eval.txt")));
    }

    void uniformLogitsCostLogVocabularyPerPrediction() {
        const MatrixRM logits = MatrixRM::Constant(3, 512, 0.25f);
        QVERIFY(std::abs(core::negativeLogLikelihood(logits, {0, 7, 511}) - 3 * std::log(512.0)) < 1e-9);
    }
    void nllIsLogSumExpMinusTheTargetLogit() {
        // Row [0, ln 3]: softmax = [1/4, 3/4]; target 1 costs ln(4/3), target 0 costs ln 4.
        MatrixRM logits(2, 2);
        logits << 0.0f, std::log(3.0f), 0.0f, std::log(3.0f);
        QVERIFY(std::abs(core::negativeLogLikelihood(logits, {1, 0}) - (std::log(4.0 / 3.0) + std::log(4.0))) < 1e-6);
    }
    void largeLogitsDoNotOverflow() {
        MatrixRM logits(1, 3);
        logits << 1000.0f, 1000.0f, -1000.0f;
        QVERIFY(std::abs(core::negativeLogLikelihood(logits, {0}) - std::log(2.0)) < 1e-6);
    }
    void maxWindowsScoresTheFirstWindowsOnly() {
        core::PerplexityOptions options;
        options.ctx = 128;
        options.maxWindows = 3;
        options.batchWindows = 2;  // a full batch and a partial one
        const auto r = core::evaluatePerplexity(*m_model, m_stream, options);
        QCOMPARE(r.windows, 3);
        QCOMPARE(r.ctx, 128);
        QCOMPARE(r.predictions, std::int64_t(3 * 127));
        QVERIFY(std::abs(std::log(r.perplexity) - r.meanLoss) < 1e-12);
        QVERIFY(r.tokensPerSecond > 0);
    }
    void batchSizeDoesNotChangeTheResult() {
        core::PerplexityOptions one, four;
        one.ctx = four.ctx = 64;
        one.maxWindows = four.maxWindows = 4;
        one.batchWindows = 1;
        four.batchWindows = 4;
        const double a = core::evaluatePerplexity(*m_model, m_stream, one).perplexity;
        const double b = core::evaluatePerplexity(*m_model, m_stream, four).perplexity;
        QVERIFY2(std::abs(a - b) / a < 1e-6, qPrintable(QString("%1 vs %2").arg(a).arg(b)));
    }
    void theTailShorterThanAWindowIsDropped() {
        const std::vector<int> stream(m_stream.begin(), m_stream.begin() + 64 * 2 + 63);
        core::PerplexityOptions options;
        options.ctx = 64;
        QCOMPARE(core::evaluatePerplexity(*m_model, stream, options).windows, 2);
    }
    void aStreamShorterThanOneWindowIsAnError() {
        const std::vector<int> stream(m_stream.begin(), m_stream.begin() + 100);
        core::PerplexityOptions options;
        options.ctx = 512;
        try {
            (void)core::evaluatePerplexity(*m_model, stream, options);
            QFAIL("scored a 100-token stream with ctx 512");
        } catch (const core::Error& e) {
            QCOMPARE(std::string(e.what()), std::string("perplexity: the text holds 100 tokens, fewer than one window of 512"));
        }
    }
    void progressReachesOneAndCancelStops() {
        core::PerplexityOptions options;
        options.ctx = 64;
        options.maxWindows = 4;
        options.batchWindows = 1;
        std::vector<double> fractions;
        core::RunContext ctx([&](double f, std::string_view) { fractions.push_back(f); }, nullptr);
        (void)core::evaluatePerplexity(*m_model, m_stream, options, ctx);
        QCOMPARE(fractions, (std::vector<double>{0.25, 0.5, 0.75, 1.0}));

        core::RunContext cancelled;
        cancelled.requestStop();
        QVERIFY_THROWS_EXCEPTION(core::Cancelled, (void)core::evaluatePerplexity(*m_model, m_stream, options, cancelled));
    }
    void generateStopsAtEosAndRejectsAnEmptyPrompt() {
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::generateGreedy(*m_model, {}, 4));
        const auto ids = core::generateGreedy(*m_model, {1}, 5);
        QCOMPARE(ids.size(), std::size_t(5));
        // Declaring the third greedy token "EOS" stops generation right after it.
        QCOMPARE(core::generateGreedy(*m_model, {1}, 5, ids[2]).size(), std::size_t(3));
    }
};

QTEST_APPLESS_MAIN(TestPerplexity)
#include "test_perplexity.moc"

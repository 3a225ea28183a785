// KL divergence against a baseline: the arithmetic on hand-computed distributions, the
// percentile definitions, the bundled model's FP16 version against FP32, and the baseline
// read from a logits file (same figures, and an error naming each kind of mismatch).
#include <QtTest>

#include <cmath>
#include <filesystem>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/kl_divergence.h"
#include "core/eval/logits_file.h"
#include "core/eval/perplexity.h"
#include "core/kernels/model_bench.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "core/util/sha256.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

constexpr double kExact = 1e-12;  // double arithmetic on exactly representable logits

PerplexityOptions windowsOf(int ctx, int windows, int batch = 8) {
    PerplexityOptions o;
    o.ctx = ctx;
    o.maxWindows = windows;
    o.batchWindows = batch;
    return o;
}

// The message of the Error f() throws ("" when it throws none).
template <class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

class TestKlDivergence : public QObject {
    Q_OBJECT

    std::shared_ptr<const LlamaModel> m_model;
    std::shared_ptr<const LlamaModel> m_fp16;
    std::string m_text;
    std::vector<int> m_stream;

private slots:
    void initTestCase() {
        setThreadCount(2);
        m_model = qb::test::bundledModel();
        m_fp16 = toFp16Model(*m_model);
        const auto tok = Tokenizer::load(qb::test::bundledModelDir(), 1, 2);
        m_text = readTextFile(qb::test::bundledText("eval.txt"));
        m_stream = encodeDocuments(*tok, m_text);
    }

    // ---- the arithmetic ---------------------------------------------------------------------
    void twoFixedDistributionsGiveTheHandComputedFigures() {
        // Position 1, V = 2: baseline logits (1, 0), P = (σ(1), σ(−1)), σ(x) = 1/(1 + e^−x);
        // model logits (1000, 1000) (log-sum-exp must cope), Q = (1/2, 1/2).
        //   log P = (1, 0) − ln(1 + e), log Q = −ln 2
        //   KL = Σ P_v (log P_v − log Q_v) = ln 2 + σ(1)·1 − ln(1 + e) = ln 2 + e/(1 + e) − ln(1 + e) ≈ 0.1109441
        //   tops: P → 0, Q → 0 (tie, lowest id); Δp = Q_0 − P_0 = 1/2 − e/(1 + e) ≈ −0.2310586
        // Position 2, V = 4: baseline logits (2, 0, 0, 0), P = (e², 1, 1, 1)/(e² + 3);
        // model logits (1000, 1001, 1000, 1000), Q = (1, e, 1, 1)/(e + 3).
        //   log P − log Q = (2, −1, 0, 0) − ln(e² + 3) + ln(e + 3)
        //   KL = (2e² − 1)/(e² + 3) + ln((e + 3)/(e² + 3)) ≈ 0.7291295
        //   tops: P → 0, Q → 1 (differ); Δp = Q_0 − P_0 = 1/(e + 3) − e²/(e² + 3) ≈ −0.5363569
        // Targets: token 0, then token 1: −log Q = ln 2 and ln(e + 3) − 1; −log P = ln(1 + e) − 1 and ln(e² + 3).
        const double e = std::exp(1.0), e2 = e * e;
        const double kl1 = std::log(2.0) + e / (1 + e) - std::log(1 + e);
        const double kl2 = (2 * e2 - 1) / (e2 + 3) + std::log((e + 3) / (e2 + 3));
        const double dp1 = 0.5 - e / (1 + e), dp2 = 1 / (e + 3) - e2 / (e2 + 3);

        MatrixRM p1(1, 2), q1(1, 2), p2(1, 4), q2(1, 4);
        p1 << 1, 0;
        q1 << 1000, 1000;
        p2 << 2, 0, 0, 0;
        q2 << 1000, 1001, 1000, 1000;
        KldAccumulator acc;
        acc.add(p1, q1, std::vector<int>{0});
        acc.add(p2, q2, std::vector<int>{1});
        QCOMPARE(acc.positions(), std::int64_t(2));
        QVERIFY(std::abs(acc.kld()[0] - kl1) < kExact);
        QVERIFY(std::abs(acc.kld()[1] - kl2) < kExact);

        const KldStatistics s = acc.statistics();
        QVERIFY(std::abs(s.kldMean - (kl1 + kl2) / 2) < kExact);
        QVERIFY(std::abs(s.kldMedian - (kl1 + kl2) / 2) < kExact);  // even N: the mean of the middle two
        QVERIFY(std::abs(s.kldP90 - kl2) < kExact);                 // rank ⌈0.9 · 2⌉ = 2
        QVERIFY(std::abs(s.kldP99 - kl2) < kExact);
        QVERIFY(std::abs(s.kldMax - kl2) < kExact);
        QCOMPARE(s.top1AgreementPercent, 50.0);
        QVERIFY(std::abs(s.deltaPRmsPercent - 100 * std::sqrt((dp1 * dp1 + dp2 * dp2) / 2)) < 1e-10);
        // The worst 1 % of 2 positions is ⌈2/100⌉ = 1 position: the second, whose tops differ.
        QCOMPARE(s.worstPercentPositions, std::int64_t(1));
        QCOMPARE(s.worstPercentTop1Percent, 0.0);
        const double ppl = std::exp((std::log(2.0) + std::log(e + 3) - 1) / 2);
        const double baselinePpl = std::exp((std::log(1 + e) - 1 + std::log(e2 + 3)) / 2);
        QVERIFY(std::abs(s.perplexity / ppl - 1) < kExact);
        QVERIFY(std::abs(s.baselinePerplexity / baselinePpl - 1) < kExact);
        QVERIFY(std::abs(s.perplexityDeltaPercent - 100 * (ppl / baselinePpl - 1)) < 1e-9);
    }
    void identicalLogitsDivergeByZero() {
        const MatrixRM logits = qb::test::randomMatrix(5, 512, 7, 3.0f);
        KldAccumulator acc;
        acc.add(logits, logits, std::vector<int>{0, 1, 2, 3, 4});
        const KldStatistics s = acc.statistics();
        QCOMPARE(s.kldMax, 0.0);
        QCOMPARE(s.top1AgreementPercent, 100.0);
        QCOMPARE(s.deltaPRmsPercent, 0.0);
        QCOMPARE(s.perplexityDeltaPercent, 0.0);
    }
    void theWorstPercentIsTheCeilingOfOnePercentOfThePositions() {
        // 101 positions, baseline logits (1, 0) throughout. Rows 0–98: the model's (1 − r/100, 0),
        // small KLD, the same top. Row 99: (0, 3), the top flips; row 100: (6, 0), the same top.
        // Both KLDs exceed 1 nat, far above the rest, so they are the ⌈101/100⌉ = 2 worst.
        MatrixRM p(101, 2), q(101, 2);
        for (int r = 0; r < 101; ++r) {
            p.row(r) << 1, 0;
            q.row(r) << float(1.0 - r / 100.0), 0;
        }
        q.row(99) << 0, 3;
        q.row(100) << 6, 0;
        KldAccumulator acc;
        acc.add(p, q, std::vector<int>(101, 0));
        const KldStatistics s = acc.statistics();
        QCOMPARE(s.worstPercentPositions, std::int64_t(2));
        QCOMPARE(s.worstPercentTop1Percent, 50.0);
        QVERIFY(std::abs(s.top1AgreementPercent - 100.0 * 100 / 101) < kExact);
        QCOMPARE(s.kldMax, std::max(acc.kld()[99], acc.kld()[100]));
    }
    void mismatchedBlocksAreAnError() {
        KldAccumulator acc;
        const MatrixRM a = MatrixRM::Zero(2, 4), b = MatrixRM::Zero(2, 5);
        QVERIFY(!errorOf([&] { acc.add(a, b, std::vector<int>{0, 0}); }).empty());
        QVERIFY(!errorOf([&] { acc.add(a, a, std::vector<int>{0}); }).empty());
        QVERIFY(!errorOf([&] { acc.add(a, a, std::vector<int>{0, 4}); }).empty());
        QVERIFY(!errorOf([&] { (void)acc.statistics(); }).empty());  // nothing added
    }

    // ---- percentiles: nearest rank ----------------------------------------------------------
    void percentilesAreNearestRank_data() {
        QTest::addColumn<double>("p");
        QTest::addColumn<double>("expected");
        // The set {0.1, 0.2, …, 1.0}: N = 10, rank ⌈p·N/100⌉.
        QTest::newRow("p10: rank 1") << 10.0 << 0.1;
        QTest::newRow("p11: rank 2") << 11.0 << 0.2;
        QTest::newRow("p50: rank 5") << 50.0 << 0.5;
        QTest::newRow("p90: rank 9") << 90.0 << 0.9;
        QTest::newRow("p91: rank 10") << 91.0 << 1.0;
        QTest::newRow("p99: rank 10") << 99.0 << 1.0;
        QTest::newRow("p100: the max") << 100.0 << 1.0;
        QTest::newRow("p0.5: rank 1") << 0.5 << 0.1;
    }
    void percentilesAreNearestRank() {
        QFETCH(double, p);
        QFETCH(double, expected);
        const std::vector<double> sorted{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
        QCOMPARE(kldPercentile(sorted, p), expected);
    }
    void p99OfAHundredValuesIsTheNinetyNinth() {
        std::vector<double> sorted(100);
        for (int i = 0; i < 100; ++i) sorted[std::size_t(i)] = i + 1;  // 1 … 100
        QCOMPARE(kldPercentile(sorted, 99.0), 99.0);
        QCOMPARE(kldPercentile(sorted, 90.0), 90.0);
    }
    void medianIsTheMiddleOrTheMeanOfTheMiddleTwo() {
        QCOMPARE(kldMedianOfSorted(std::vector<double>{1, 2, 3, 4, 5}), 3.0);
        QCOMPARE(kldMedianOfSorted(std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0}), 0.55);
        QCOMPARE(kldMedianOfSorted(std::vector<double>{7}), 7.0);
    }
    void percentilesOfNothingOrOutOfRangeAreErrors() {
        const std::vector<double> none, one{1.0};
        QVERIFY(!errorOf([&] { (void)kldPercentile(none, 50); }).empty());
        QVERIFY(!errorOf([&] { (void)kldPercentile(one, 0); }).empty());
        QVERIFY(!errorOf([&] { (void)kldPercentile(one, 100.5); }).empty());
        QVERIFY(!errorOf([&] { (void)kldMedianOfSorted(none); }).empty());
    }

    // ---- the bundled model ------------------------------------------------------------------
    void fp16AgainstFp32IsAlmostZero() {
        const PerplexityOptions options = windowsOf(512, 4);
        const auto r = evaluateAgainstBaseline(*m_fp16, *m_model, m_stream, options);
        const auto& s = r.stats;
        qInfo("FP16 vs FP32: KLD mean %.3g median %.3g p99 %.3g max %.3g, top-1 %.3f %%, RMS dp %.4f %%", s.kldMean,
              s.kldMedian, s.kldP99, s.kldMax, s.top1AgreementPercent, s.deltaPRmsPercent);
        QCOMPARE(r.windows, 4);
        QCOMPARE(s.positions, std::int64_t(4 * 511));
        QVERIFY(s.kldMean < 1e-4);
        QVERIFY(s.kldMean > 0.0);  // F16 rounding does change the logits
        QVERIFY(s.top1AgreementPercent >= 99.0);
        // The positions are the ones perplexity scores: each model's perplexity is evaluatePerplexity's
        // (which sums float exponentials, hence 1e-6 and not 1e-12).
        const double fp32 = evaluatePerplexity(*m_model, m_stream, options).perplexity;
        const double fp16 = evaluatePerplexity(*m_fp16, m_stream, options).perplexity;
        qInfo("perplexity FP32 %.8f (evaluatePerplexity %.8f), FP16 %.8f (%.8f)", s.baselinePerplexity, fp32, s.perplexity, fp16);
        QVERIFY(std::abs(s.baselinePerplexity / fp32 - 1) < 1e-6);
        QVERIFY(std::abs(s.perplexity / fp16 - 1) < 1e-6);
    }
    void aBaselineWithAnotherVocabularyIsAnError() {
        const auto other = LlamaModel::fromParts(
            [&] {
                auto c = m_model->config();
                c.vocabSize = 256;
                return c;
            }(),
            MatrixRM(m_model->embedding().dense().topRows(256)), {m_model->layer(0), m_model->layer(1), m_model->layer(2),
                                                                      m_model->layer(3), m_model->layer(4)},
            m_model->finalNorm(), nullptr);
        const auto msg = errorOf([&] { (void)evaluateAgainstBaseline(*m_model, *other, m_stream, windowsOf(64, 1)); });
        QCOMPARE(msg, std::string("KL divergence: the baseline's vocabulary has 256 tokens, the model's 512"));
    }

    // ---- the baseline from a logits file ----------------------------------------------------
    void aLogitsFileGivesTheSameFiguresAsTheModel() {
        const auto file = writeBaselineFile("same-figures");
        const PerplexityOptions options = windowsOf(64, 3, 2);
        const auto fromModel = evaluateAgainstBaseline(*m_fp16, *m_model, m_stream, options).stats;
        const auto fromFile = evaluateAgainstBaseline(*m_fp16, *LogitsFile::open(file), m_stream, sha256Hex(m_text), options).stats;
        QCOMPARE(fromFile.positions, fromModel.positions);
        for (const auto& [a, b] : {std::pair{fromFile.kldMean, fromModel.kldMean}, {fromFile.kldP99, fromModel.kldP99},
                                  {fromFile.kldMax, fromModel.kldMax}, {fromFile.baselinePerplexity, fromModel.baselinePerplexity},
                                  {fromFile.perplexity, fromModel.perplexity}})
            QVERIFY2(std::abs(a - b) <= 1e-6 * std::abs(b), qPrintable(QString("%1 vs %2").arg(a).arg(b)));
        QCOMPARE(fromFile.top1AgreementPercent, fromModel.top1AgreementPercent);
    }
    void aLogitsFileMadeOnOtherWindowsNamesTheDifference() {
        const auto path = writeBaselineFile("mismatch");
        const auto file = LogitsFile::open(path);
        const std::string name = path.string(), sha = sha256Hex(m_text);
        const auto check = [&](const std::vector<int>& stream, int ctx, int windows, const std::string& textSha, Index vocab) {
            return errorOf([&] { file->checkMatches(stream, ctx, windows, textSha, vocab); });
        };
        QCOMPARE(check(m_stream, 64, 3, sha, 512), std::string());
        QCOMPARE(check(m_stream, 128, 3, sha, 512), name + ": made with ctx 64, this run uses 128");
        QCOMPARE(check(m_stream, 64, 3, sha256Hex("another text"), 512),
                 name + ": made on another text (eval.txt, sha256 " + sha.substr(0, 12) + "…), this run's text has " +
                     sha256Hex("another text").substr(0, 12) + "…");
        QCOMPARE(check(m_stream, 64, 2, sha, 512), name + ": made with 3 windows, this run uses 2");
        QCOMPARE(check(m_stream, 64, 3, sha, 1000), name + ": holds logits over 512 tokens, the model's vocabulary has 1000");
        std::vector<int> retokenized = m_stream;
        retokenized[64 + 16] = retokenized[64 + 16] == 5 ? 6 : 5;  // window 2, position 17
        QCOMPARE(check(retokenized, 64, 3, sha, 512),
                 name + ": the tokens of window 2 differ at position 17 (another text or tokenizer)");
        // evaluateAgainstBaseline checks before any forward.
        QCOMPARE(errorOf([&] {
                     (void)evaluateAgainstBaseline(*m_model, *file, m_stream, sha, windowsOf(64, 2));
                 }),
                 name + ": made with 3 windows, this run uses 2");
    }
    void aSafetensorsFileThatIsNotALogitsFileIsRefused() {
        const auto model = qb::test::bundledModelDir() / "model.safetensors";
        QCOMPARE(errorOf([&] { (void)LogitsFile::open(model); }),
                 model.string() + ": not a logits file of eval --save-logits (no format 'quantbench-logits' in its metadata)");
    }

private:
    // The FP32 model's logits on the first 3 windows of 64 tokens of eval.txt, as eval --save-logits writes them.
    std::filesystem::path writeBaselineFile(const std::string& tag) const {
        const auto path = qb::test::freshScratchDir("kld-" + tag) / "fp32.safetensors";
        PerplexityOptions options = windowsOf(64, 3);
        LogitsFileWriter writer(path,
                                {.model = "stories260K", .text = qb::test::bundledText("eval.txt").string(),
                                 .textSha256 = sha256Hex(m_text), .ctx = 64, .windows = 3, .vocab = 512, .bos = true},
                                m_stream);
        options.logitsSink = [&](const std::vector<int>&, const MatrixRM& logits) { writer.appendWindow(logits); };
        (void)evaluatePerplexity(*m_model, m_stream, options);
        writer.commit();
        return path;
    }
};

QTEST_GUILESS_MAIN(TestKlDivergence)
#include "test_kl_divergence.moc"

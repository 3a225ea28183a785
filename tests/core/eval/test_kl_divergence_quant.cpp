// KL divergence orders the quantizers on the bundled model as their quality does:
// RTN W3 > GPTQ W3 > GPTQ W4 (group 32), each against the FP32 model on the same windows.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/kl_divergence.h"
#include "core/quant/pipeline.h"
#include "core/text/tokenizer.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb::core;

class TestKlDivergenceQuant : public QObject {
    Q_OBJECT

    std::shared_ptr<const LlamaModel> m_model;
    std::vector<int> m_eval;
    CalibrationSet m_calib;

    KldStatistics kldOf(const std::string& plan, const char* label) const {
        const auto q = quantizeModel(*m_model, QuantPlan::fromJsonText(plan, label), m_calib);
        PerplexityOptions options;
        options.ctx = 512;
        options.maxWindows = 8;
        const auto s = evaluateAgainstBaseline(*q.model, *m_model, m_eval, options).stats;
        qInfo("%-8s KLD mean %.5f median %.5f p90 %.5f p99 %.5f max %.4f | top-1 %.2f %% | RMS dp %.3f %% | "
              "same top in worst 1 %% %.1f %% | ppl %.4f vs %.4f (%+.2f %%)",
              label, s.kldMean, s.kldMedian, s.kldP90, s.kldP99, s.kldMax, s.top1AgreementPercent, s.deltaPRmsPercent,
              s.worstPercentTop1Percent, s.perplexity, s.baselinePerplexity, s.perplexityDeltaPercent);
        return s;
    }

private slots:
    void initTestCase() {
        setThreadCount(2);
        m_model = qb::test::bundledModel();
        m_eval = qb::test::bundledTokens("eval.txt");
        const auto calib = qb::test::bundledTokens("calib.txt");
        m_calib = sampleCalibration(calib, {.windows = 32, .ctx = 512, .seed = 0});
    }

    void kldOrdersRtnW3AboveGptqW3AboveGptqW4() {
        const auto rtn3 = kldOf(R"({"default": {"method": "rtn", "bits": 3, "group_size": 32}})", "RTN W3");
        const auto gptq3 = kldOf(R"({"default": {"method": "gptq", "bits": 3, "group_size": 32}})", "GPTQ W3");
        const auto gptq4 = kldOf(R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})", "GPTQ W4");
        // Mean and median both: the order holds for the typical token, not only on average.
        QVERIFY(rtn3.kldMean > gptq3.kldMean);
        QVERIFY(gptq3.kldMean > gptq4.kldMean);
        QVERIFY(rtn3.kldMedian > gptq3.kldMedian);
        QVERIFY(gptq3.kldMedian > gptq4.kldMedian);
        // Agreement runs the other way, and even W4 is measurably off the FP32 model.
        QVERIFY(rtn3.top1AgreementPercent < gptq3.top1AgreementPercent);
        QVERIFY(gptq3.top1AgreementPercent < gptq4.top1AgreementPercent);
        QVERIFY(gptq4.kldMean > 1e-3);
        QVERIFY(gptq4.top1AgreementPercent < 100.0);
    }
};

QTEST_GUILESS_MAIN(TestKlDivergenceQuant)
#include "test_kl_divergence_quant.moc"

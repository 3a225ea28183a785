// The plan autopilot on the bundled model (stories260K): measured costs on 4 calibration windows
// of 64 tokens from calib.txt, plans that respect their budget in the bytes `quantize` really
// writes, and the plan at the size of the uniform GPTQ plan nearest 3.5 bits per weight against
// that uniform plan on held-out text — resources/data/tinystories/heldout.txt, which neither the
// costs nor the quantizer see (eval.txt and calib.txt are not used for the comparison).
#include <QtTest>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/kl_divergence.h"
#include "core/plan/autoplan.h"
#include "core/quant/pipeline.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/scheme_size.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

class TestAutoplan : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        setThreadCount(2);
        m_model = loadModel(test::bundledModelDir());
        m_calib = sampleCalibration(test::bundledTokens("calib.txt"), {.windows = 4, .ctx = 64, .seed = 0});
        m_heldOut = test::bundledTokens("heldout.txt");
        PlanCostOptions options;
        options.space.methods = {QuantMethod::Gptq, QuantMethod::Rtn};
        options.space.bits = {2, 3, 4, 8};
        options.space.groupSizes = {32, 128};
        m_costs = measurePlanCosts(*m_model, m_calib, options);
    }

    // Every (module, candidate) was measured by a forward pass; the numbers behave like costs.
    void costsAreMeasured() {
        QCOMPARE(m_costs.modules.size(), std::size_t(35));
        QCOMPARE(m_costs.forwards, std::size_t(35 * 17));
        QCOMPARE(m_costs.positions, std::int64_t(4 * 63));
        for (const auto& m : m_costs.modules) {
            QCOMPARE(m.measured.size(), m.candidates.size());
            const auto at = [&](QuantMethod method, int bits, int group) {
                for (std::size_t i = 0; i < m.candidates.size(); ++i)
                    if (m.candidates[i].scheme.method == method && m.candidates[i].scheme.grid.bits == bits &&
                        m.candidates[i].scheme.grid.groupSize == std::optional<int>(group))
                        return m.measured[i];
                return -1.0;
            };
            // Fewer bits cost more; the F16 module costs next to nothing.
            QVERIFY2(at(QuantMethod::Rtn, 2, 128) > at(QuantMethod::Rtn, 4, 128), m.name.c_str());
            QVERIFY(at(QuantMethod::Rtn, 4, 128) > at(QuantMethod::Rtn, 8, 128));
            QVERIFY(m.measured.back() < 1e-4 * std::max(1e-12, at(QuantMethod::Rtn, 2, 128)) + 1e-7);
            QVERIFY(m.probeKld > 0.0);
        }
        QVERIFY(m_costs.proxySpearman.has_value());
        QVERIFY2(*m_costs.proxySpearman > 0.5, qPrintable(QString::number(*m_costs.proxySpearman)));
    }

    // The (module, candidate) costs of a layer run as parallel tasks; each measured cost is the
    // same number on one thread as on two (every task's own arithmetic runs on one thread).
    void costsDoNotDependOnTheThreadCount() {
        PlanCostOptions options;
        options.space.methods = {QuantMethod::Gptq, QuantMethod::Awq, QuantMethod::Rtn};
        options.space.bits = {3, 4};
        options.space.groupSizes = {32};
        const CalibrationSet calib = sampleCalibration(test::bundledTokens("calib.txt"), {.windows = 2, .ctx = 32, .seed = 1});
        setThreadCount(1);
        const PlanCostTable one = measurePlanCosts(*m_model, calib, options);
        setThreadCount(2);
        const PlanCostTable two = measurePlanCosts(*m_model, calib, options);
        QCOMPARE(one.modules.size(), two.modules.size());
        QCOMPARE(one.forwards, two.forwards);
        for (std::size_t i = 0; i < one.modules.size(); ++i) {
            QCOMPARE(one.modules[i].name, two.modules[i].name);
            QVERIFY2(one.modules[i].measured == two.modules[i].measured, one.modules[i].name.c_str());
            QCOMPARE(one.modules[i].probeKld, two.modules[i].probeKld);
            // (The proxy's RTN errors e(c) are threaded reductions on the calling thread, so they
            // may differ in the last bits; they are not tasks.)
        }
    }

    void planRespectsBudget_data() {
        QTest::addColumn<double>("bpw");
        QTest::addColumn<bool>("proxy");
        for (double bpw : {3.0, 3.5, 4.5, 6.0}) {
            QTest::newRow(qPrintable(QString("measured %1 bpw").arg(bpw))) << bpw << false;
            QTest::newRow(qPrintable(QString("proxy %1 bpw").arg(bpw))) << bpw << true;
        }
    }
    void planRespectsBudget() {
        QFETCH(double, bpw);
        QFETCH(bool, proxy);
        const auto source = proxy ? PlanCostSource::Proxy : PlanCostSource::Measured;
        const AutoPlanResult r = solveAutoPlan(m_costs, AutoPlanTarget::ofBitsPerWeight(bpw), source);
        QVERIFY(r.bytes <= r.budgetBytes);
        QVERIFY(r.bitsPerWeight <= bpw);
        QVERIFY(r.solver.exact);
        QVERIFY(r.solver.gap() >= -1e-12);
        // The plan file says what was chosen, module by module, and sizes the same.
        const QuantPlan reread = QuantPlan::fromJsonText(r.plan.toJsonText(), "autoplan");
        std::uint64_t bytes = 0;
        for (const auto& m : r.modules) {
            QCOMPARE(schemeToJson(reread.resolve(m.name)), schemeToJson(m.scheme));
            bytes += schemeBytes(reread.resolve(m.name), m.outFeatures, m.inFeatures);
        }
        QCOMPARE(bytes, r.bytes);
        // No uniform plan within the budget is predicted better (the solver is optimal).
        for (const auto& u : uniformPlanCosts(m_costs, source))
            if (u.bytes <= r.budgetBytes) QVERIFY2(r.predictedCost <= u.predictedCost + 1e-12, u.scheme.label().c_str());
    }

    void targetBelowTheSmallestPlanIsAnError() {
        QVERIFY_THROWS_EXCEPTION(Error, (void)solveAutoPlan(m_costs, AutoPlanTarget::ofBitsPerWeight(1.0)));
        QVERIFY_THROWS_EXCEPTION(Error, (void)solveAutoPlan(m_costs, AutoPlanTarget{3.0, std::uint64_t(1000), std::nullopt}));
    }

    // The size the solver counted is the size the quantizer writes, and at that size the plan
    // beats the uniform GPTQ plan nearest 3.5 bits per weight on held-out text (perplexity and
    // KLD against the FP model).
    void beatsUniformOnHeldOut() {
        std::optional<UniformPlanCost> uniform;
        for (const auto& u : uniformPlanCosts(m_costs))
            if (u.scheme.method == QuantMethod::Gptq && (!uniform || std::abs(u.bitsPerWeight - 3.5) < std::abs(uniform->bitsPerWeight - 3.5)))
                uniform = u;
        QVERIFY(uniform);
        const AutoPlanResult autoPlan = solveAutoPlan(m_costs, AutoPlanTarget::ofBytes(uniform->bytes));
        QuantPlan uniformPlan;
        uniformPlan.defaultScheme = uniform->scheme;
        const QuantizeResult qa = quantizeModel(*m_model, autoPlan.plan, m_calib);
        const QuantizeResult qu = quantizeModel(*m_model, uniformPlan, m_calib);
        QCOMPARE(std::uint64_t(qa.linearBytes), autoPlan.bytes);
        QCOMPARE(std::uint64_t(qu.linearBytes), uniform->bytes);
        PerplexityOptions eval;
        eval.ctx = 128;
        const auto ea = evaluateAgainstBaseline(*qa.model, *m_model, m_heldOut, eval);
        const auto eu = evaluateAgainstBaseline(*qu.model, *m_model, m_heldOut, eval);
        qInfo("uniform %s: %.3f bpw, ppl %.4f, kld %.5f; autopilot: %.3f bpw, ppl %.4f, kld %.5f (%d windows of heldout.txt)",
              uniform->scheme.label().c_str(), uniform->bitsPerWeight, eu.stats.perplexity, eu.stats.kldMean, autoPlan.bitsPerWeight,
              ea.stats.perplexity, ea.stats.kldMean, ea.windows);
        QVERIFY(ea.stats.perplexity < eu.stats.perplexity);
        QVERIFY(ea.stats.kldMean < eu.stats.kldMean);
    }

private:
    std::shared_ptr<LlamaModel> m_model;
    CalibrationSet m_calib;
    std::vector<int> m_heldOut;
    PlanCostTable m_costs;
};

QTEST_GUILESS_MAIN(TestAutoplan)
#include "test_autoplan.moc"

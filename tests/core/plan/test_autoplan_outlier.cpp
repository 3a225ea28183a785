// The autopilot on the outlier-injected equivalent model (tests/support/outlier_model.h: the
// hidden channels 5 and 37 of every RMSNorm ×40, the matching input columns of q/k/v and
// gate/up ÷40 — the same function, so the plain model's plan would be just as valid for it).
// Quantizing a column that was divided by 40 leaves the same absolute rounding error, which the
// ×40 input now multiplies: the modules reading the outlier channel become far more sensitive.
// The autopilot must find that from its measured costs alone and protect those modules: at the
// same budget it gives them more bytes than on the plain model, taken from the others.
// Bundled model, RTN candidates (2, 3, 4, 8 bits × groups 32, 128, and F16), 1 calibration
// window of 64 tokens from calib.txt.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/plan/autoplan.h"
#include "core/text/tokenizer.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// q/k/v read input_layernorm, gate/up post_attention_layernorm: the modules that read the outlier channels.
bool readsOutliers(const std::string& name) {
    for (const char* k : {"q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"})
        if (name.find(k) != std::string::npos) return true;
    return false;
}

struct BytesSplit {
    std::uint64_t readers = 0;  // Σ bytes of the modules reading the outlier channels
    std::uint64_t others = 0;   // o_proj, down_proj
};

BytesSplit split(const AutoPlanResult& r) {
    BytesSplit s;
    for (const auto& m : r.modules) (readsOutliers(m.name) ? s.readers : s.others) += m.bytes;
    return s;
}

}  // namespace

class TestAutoplanOutlier : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        setThreadCount(2);
        const auto plain = test::bundledModel();
        const auto calib = sampleCalibration(test::bundledTokens("calib.txt"), {.windows = 1, .ctx = 64, .seed = 0});
        PlanCostOptions options;
        options.space.methods = {QuantMethod::Rtn};
        options.space.bits = {2, 3, 4, 8};
        options.space.groupSizes = {32, 128};
        m_plain = measurePlanCosts(*plain, calib, options);
        m_outlier = measurePlanCosts(*test::makeOutlierInjectedModel(*plain), calib, options);
    }

    // The measured costs see it: RTN w4 g128 of every module reading the outliers costs more on
    // the injected model (the rounding error of the ÷40 columns is multiplied by the ×40 inputs;
    // on average over those 25 modules over 3× more), while o_proj and down_proj (unchanged
    // weights and inputs) cost the same to 1 %.
    void costsShowTheOutlierReaders() {
        QCOMPARE(m_outlier.modules.size(), m_plain.modules.size());
        double readerRatioSum = 0.0;
        int readers = 0;
        for (std::size_t i = 0; i < m_plain.modules.size(); ++i) {
            const auto& p = m_plain.modules[i];
            const auto& o = m_outlier.modules[i];
            std::size_t at = 0;
            while (!(p.candidates[at].scheme.method == QuantMethod::Rtn && p.candidates[at].scheme.grid.bits == 4 &&
                     p.candidates[at].scheme.grid.groupSize == std::optional<int>(128)))
                ++at;
            const double ratio = o.measured[at] / p.measured[at];
            if (readsOutliers(p.name)) {
                QVERIFY2(ratio > 1.0, qPrintable(QString("%1: %2").arg(p.name.c_str()).arg(ratio)));
                readerRatioSum += ratio, ++readers;
            } else {
                QVERIFY2(std::abs(ratio - 1.0) < 0.01, qPrintable(QString("%1: %2").arg(p.name.c_str()).arg(ratio)));
            }
        }
        QCOMPARE(readers, 25);
        QVERIFY2(readerRatioSum / readers > 3.0, qPrintable(QString::number(readerRatioSum / readers)));
    }

    // Given the same budget, the plan for the injected model spends more of it on the modules
    // reading the outliers (more of them at 8 bits or F16) and less on o_proj and down_proj than
    // the plan for the plain model does. (At 3.5 and 4.5 bits per weight the two splits are
    // within 0.5 % of each other; from 5 bits per weight on the shift is clear.)
    void planProtectsTheOutlierReaders_data() {
        QTest::addColumn<double>("bpw");
        for (double b : {5.0, 6.0, 7.0}) QTest::newRow(qPrintable(QString("%1 bpw").arg(b))) << b;
    }
    void planProtectsTheOutlierReaders() {
        QFETCH(double, bpw);
        const AutoPlanResult p = solveAutoPlan(m_plain, AutoPlanTarget::ofBitsPerWeight(bpw));
        const AutoPlanResult o = solveAutoPlan(m_outlier, AutoPlanTarget::ofBitsPerWeight(bpw));
        const BytesSplit sp = split(p), so = split(o);
        qInfo("%.1f bpw: bytes to q/k/v/gate/up: plain %llu, outlier-injected %llu; to o/down: plain %llu, outlier-injected %llu", bpw,
              static_cast<unsigned long long>(sp.readers), static_cast<unsigned long long>(so.readers),
              static_cast<unsigned long long>(sp.others), static_cast<unsigned long long>(so.others));
        QVERIFY(double(so.readers) > 1.02 * double(sp.readers));
        QVERIFY(so.others < sp.others);
    }

private:
    PlanCostTable m_plain;
    PlanCostTable m_outlier;
};

QTEST_GUILESS_MAIN(TestAutoplanOutlier)
#include "test_autoplan_outlier.moc"

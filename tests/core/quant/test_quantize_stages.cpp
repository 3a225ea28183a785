// Where quantize's time goes: QuantizeResult::stages attributes the run's wall time to its stages
// (issue 18's per-stage breakdown), each stage only where the plan does that work.
#include <QtTest>

#include "core/calib/calibration.h"
#include "core/quant/pipeline.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

QuantizeResult quantizeBundled(const std::string& plan) {
    const auto model = qb::test::bundledModel();
    const auto calib = sampleCalibration(qb::test::bundledTokens("calib.txt"), {.windows = 4, .ctx = 256, .seed = 0});
    return quantizeModel(*model, QuantPlan::fromJsonText(plan, "test plan"), calib);
}

double stage(const QuantizeResult& r, const std::string& name) {
    for (const auto& [n, s] : r.stages.entries())
        if (n == name) return s;
    qFatal("no stage %s", name.c_str());
}

}  // namespace

class TestQuantizeStages : public QObject {
    Q_OBJECT

private slots:
    void gptqRunIsSplitIntoItsStages() {
        const auto r = quantizeBundled(R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})");
        for (const char* name : {"embed", "forward", "capture", "gptq prepare", "gptq factor", "gptq sweep", "output error"})
            QVERIFY2(stage(r, name) > 0.0, name);
        for (const char* name : {"scale search", "lwc training", "journal"}) QCOMPARE(stage(r, name), 0.0);
        // The stages lie inside the run and cover nearly all of it (what they leave out is
        // copying a layer and reporting progress).
        QVERIFY(r.stages.total() <= r.seconds);
        QVERIFY(r.stages.total() >= 0.8 * r.seconds);
    }

    void gptqStagesAreTheSumOfTheModules() {
        const auto r = quantizeBundled(R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})");
        double modules = 0.0;
        for (const auto& m : r.modules) modules += m.seconds;
        const double quantizers = stage(r, "gptq prepare") + stage(r, "gptq factor") + stage(r, "gptq sweep") +
                                  stage(r, "gptq objective") + stage(r, "other quantizers");
        QVERIFY(std::abs(quantizers - modules) <= 1e-9 * std::max(1.0, modules) + 1e-12);
    }

    void rtnRunHasNoGptqStagesButItsSearchIsTimed() {
        const auto rtn = quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})");
        for (const char* name : {"gptq prepare", "gptq factor", "gptq sweep", "gptq objective"}) QCOMPARE(stage(rtn, name), 0.0);
        QVERIFY(stage(rtn, "other quantizers") > 0.0);
        const auto awq = quantizeBundled(R"({"default": {"method": "awq", "bits": 4, "group_size": 32}})");
        QVERIFY(stage(awq, "scale search") > 0.0);
    }
};

QTEST_GUILESS_MAIN(TestQuantizeStages)
#include "test_quantize_stages.moc"

// Every quantization method and the statistics on each supported family: the small random
// checkpoints of tests/fixtures/families (Llama with scaled RoPE and tied embeddings, Mistral's
// sliding window, Qwen2's q/k/v biases, Qwen3's q/k norms and head_dim ≠ hidden/heads).
// Methods that fold scales into neighbouring weights (AWQ into the RMSNorms and v→o / up→down,
// SmoothQuant into the RMSNorms) must keep the model equivalent: a fold that forgot a bias or
// a q/k norm shows up as an error far above the method's own rounding error, so each method's
// relative logit error is bounded on every family.
#include <QtTest>

#include <filesystem>

#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/quant/pipeline.h"
#include "core/quant/plan.h"
#include "core/stats/inspect.h"
#include "support/test_support.h"

using namespace qb;
using core::Index;
using core::MatrixRM;

namespace {

const std::filesystem::path kFamilies = std::filesystem::path(QB_FIXTURES_DIR) / "families";
const char* const kFixtures[] = {"llama2", "llama3_rope", "linear_rope", "dynamic_rope",
                                 "yarn_rope", "mistral_window", "qwen2_bias", "qwen3_qknorm"};

// 4 windows of 48 tokens drawn from the vocabulary the fixtures use (ids < 300), fixed seed.
core::CalibrationSet calibration() {
    core::CalibrationSet set;
    set.windows = 4;
    set.ctx = 48;
    std::uint32_t s = 12345;
    for (int i = 0; i < set.windows * set.ctx; ++i) {
        s = s * 1664525u + 1013904223u;
        set.tokens.push_back(int((s >> 8) % 300));
    }
    return set;
}

double relativeError(const MatrixRM& a, const MatrixRM& ref) {
    return double((a - ref).norm()) / double(ref.norm());
}

}  // namespace

class TestFamilyMethods : public QObject {
    Q_OBJECT
private slots:
    // Per family: every method's relative logit error. Rounding alone gives about 2 % at 8 bits
    // and 30 % at 4 bits on these tiny random models; methods that fold scales (AWQ,
    // SmoothQuant) must not add to their plain counterpart's error beyond 25 % — a fold that
    // missed a bias or a q/k norm changes the model itself and lands far above.
    void everyMethodKeepsEachFamilyClose_data() {
        QTest::addColumn<QString>("fixture");
        for (const char* f : kFixtures) QTest::newRow(f) << f;
    }
    void everyMethodKeepsEachFamilyClose() {
        QFETCH(QString, fixture);
        const auto model = core::LlamaModel::load(core::Checkpoint::open(kFamilies / fixture.toStdString()));
        const auto calib = calibration();
        const MatrixRM ref = model->forward(calib.tokens, calib.ctx);
        auto error = [&](const std::string& scheme) {
            const auto plan = core::QuantPlan::fromJsonText(R"({"default": )" + scheme + "}", "test plan");
            const double e = relativeError(core::quantizeModel(*model, plan, calib).model->forward(calib.tokens, calib.ctx), ref);
            qInfo("%-60s relative logit error %.4f", scheme.c_str(), e);
            return e;
        };
        const double rtn8 = error(R"({"method": "rtn", "bits": 8, "group_size": 32})");
        const double gptq8 = error(R"({"method": "gptq", "bits": 8, "group_size": 32})");
        const double awq8 = error(R"({"method": "awq", "bits": 8, "group_size": 32})");
        const double w8a8 = error(R"({"method": "w8a8"})");
        const double smooth = error(R"({"method": "smoothquant", "alpha": 0.5})");
        const double int8 = error(R"({"method": "llm_int8"})");
        const double rtn4 = error(R"({"method": "rtn", "bits": 4, "group_size": 32})");
        const double gptq4 = error(R"({"method": "gptq", "bits": 4, "group_size": 32})");
        const double awq4 = error(R"({"method": "awq", "bits": 4, "group_size": 32})");
        for (double e : {rtn8, gptq8, awq8, w8a8, smooth, int8, rtn4, gptq4, awq4}) QVERIFY(e > 0.0 && std::isfinite(e));
        QVERIFY(rtn8 < 0.04);
        QVERIFY(w8a8 < 0.08);
        QVERIFY(rtn4 < 0.5);
        QVERIFY(gptq8 <= 1.25 * rtn8);
        QVERIFY(awq8 <= 1.25 * rtn8);
        QVERIFY(smooth <= 1.25 * w8a8);
        QVERIFY(int8 <= 1.25 * w8a8);
        QVERIFY(gptq4 <= 1.25 * rtn4);
        QVERIFY(awq4 <= 1.25 * rtn4);
    }

    void inspectGivesFiniteStatisticsForEveryModule_data() {
        QTest::addColumn<QString>("fixture");
        for (const char* f : kFixtures) QTest::newRow(f) << f;
    }
    void inspectGivesFiniteStatisticsForEveryModule() {
        QFETCH(QString, fixture);
        const auto model = core::LlamaModel::load(core::Checkpoint::open(kFamilies / fixture.toStdString()));
        const auto r = core::inspectModel(*model, calibration());
        QCOMPARE(int(r.modules.size()), 7 * model->config().numLayers);
        for (const auto& m : r.modules) {
            QVERIFY2(std::isfinite(m.weight.excessKurtosis) && m.weight.absmax > 0, m.name.c_str());
            QVERIFY2(!m.sensitivity.entries.empty(), m.name.c_str());
            for (const auto& e : m.sensitivity.entries) QVERIFY2(!e.relativeError || std::isfinite(*e.relativeError), m.name.c_str());
        }
    }

};

QTEST_APPLESS_MAIN(TestFamilyMethods)
#include "test_family_methods.moc"

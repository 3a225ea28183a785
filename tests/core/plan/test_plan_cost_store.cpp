// The autopilot's costs recorded in a session (core/store/plan_cost_store.h) make the sweep
// resumable: a second sweep of the same model, calibration and candidates measures nothing and
// plans the same; an interrupted one measures only what is missing; a sweep with other
// calibration windows reuses nothing. Bundled model, RTN w2/w4 g128 and fp16 on 1 window of 32 tokens.
#include <QtTest>

#include <QTemporaryDir>

#include <algorithm>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/plan/autoplan.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/pipeline.h"
#include "core/store/plan_cost_store.h"
#include "core/store/session_provenance.h"
#include "core/store/session_store.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// A sweep wired to the session at path by core's attachPlanCostSession (reuses what path holds
// for the fingerprint, records each module as it finishes); recordAtMost stands for a sweep
// killed after recording that many modules.
PlanCostTable recordedSweep(const LlamaModel& model, const CalibrationSet& calib, PlanCostOptions options, const std::string& path,
                            const SessionProvenance& provenance, std::size_t recordAtMost = SIZE_MAX) {
    attachPlanCostSession(path, planCostFingerprint(provenance, calib, options), linearModuleNames(model.config()), provenance, options);
    options.finished = [record = options.finished, recorded = std::size_t(0), recordAtMost](const ModuleCosts& m) mutable {
        if (recorded++ < recordAtMost) record(m);
    };
    return measurePlanCosts(model, calib, options);
}

}  // namespace

class TestPlanCostStore : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        setThreadCount(2);
        m_model = loadModel(test::bundledModelDir());
        const auto tok = Tokenizer::load(test::bundledModelDir(), 1, 2);
        const std::string text = readTextFile(test::bundledText("calib.txt"));
        m_tokens = encodeDocuments(*tok, text);
        m_calib = sampleCalibration(m_tokens, {.windows = 1, .ctx = 32, .seed = 0});
        m_provenance = makeSessionProvenance(*Checkpoint::open(test::bundledModelDir()), text, m_calib, 0);
        m_options.space.methods = {QuantMethod::Rtn};
        m_options.space.bits = {2, 4};
        m_options.space.groupSizes = {128};
        QVERIFY(m_dir.isValid());
    }

    // The first sweep measures all 35 modules and records them; the second measures none, and
    // its costs and its plan are those of the first.
    void secondSweepReusesEveryModule() {
        const std::string path = m_dir.filePath("full.h5").toStdString();
        const PlanCostTable first = recordedSweep(*m_model, m_calib, m_options, path, m_provenance);
        QCOMPARE(first.measuredModules, std::size_t(35));
        QCOMPARE(first.reusedModules, std::size_t(0));
        QCOMPARE(first.forwards, std::size_t(35 * 3));  // w2 g128, w4 g128, fp16; the probe (w2 g128) among them
        const PlanCostTable second = recordedSweep(*m_model, m_calib, m_options, path, m_provenance);
        QCOMPARE(second.measuredModules, std::size_t(0));
        QCOMPARE(second.reusedModules, std::size_t(35));
        QCOMPARE(second.forwards, std::size_t(0));
        for (std::size_t i = 0; i < 35; ++i) {
            QCOMPARE(second.modules[i].name, first.modules[i].name);
            QCOMPARE(second.modules[i].measured, first.modules[i].measured);
            QCOMPARE(second.modules[i].proxy, first.modules[i].proxy);
        }
        const AutoPlanResult a = solveAutoPlan(first, AutoPlanTarget::ofBitsPerWeight(3.5));
        const AutoPlanResult b = solveAutoPlan(second, AutoPlanTarget::ofBitsPerWeight(3.5));
        QCOMPARE(b.plan.toJsonText(), a.plan.toJsonText());
        // The session is still one the workbench reads.
        QCOMPARE(SessionStore::read(path).provenance.configSha256, m_provenance.configSha256);
    }

    // A sweep stopped after 12 modules resumes with the remaining 23.
    void interruptedSweepMeasuresTheRest() {
        const std::string path = m_dir.filePath("partial.h5").toStdString();
        (void)recordedSweep(*m_model, m_calib, m_options, path, m_provenance, 12);
        QCOMPARE(readPlanCosts(path, planCostFingerprint(m_provenance, m_calib, m_options)).size(), std::size_t(12));
        const PlanCostTable resumed = recordedSweep(*m_model, m_calib, m_options, path, m_provenance);
        QCOMPARE(resumed.reusedModules, std::size_t(12));
        QCOMPARE(resumed.measuredModules, std::size_t(23));
        QCOMPARE(resumed.modules.size(), std::size_t(35));
    }

    // Costs of other calibration windows, or another candidate space, are not taken.
    void otherCalibrationOrCandidatesReuseNothing() {
        const std::string path = m_dir.filePath("full.h5").toStdString();  // recorded by the first test
        const CalibrationSet other = sampleCalibration(m_tokens, {.windows = 1, .ctx = 32, .seed = 1});
        QVERIFY(planCostFingerprint(m_provenance, other, m_options) != planCostFingerprint(m_provenance, m_calib, m_options));
        QCOMPARE(readPlanCosts(path, planCostFingerprint(m_provenance, other, m_options)).size(), std::size_t(0));
        PlanCostOptions moreBits = m_options;
        moreBits.space.bits = {2, 3, 4};
        QCOMPARE(readPlanCosts(path, planCostFingerprint(m_provenance, m_calib, moreBits)).size(), std::size_t(0));
    }

    // A session written whole — the workbench's Save, SessionStore::write of what it read — keeps
    // the recorded costs: a sweep on the rewritten file measures nothing and gets the same costs.
    void aSessionWrittenWholeKeepsItsCosts() {
        const std::string path = m_dir.filePath("full.h5").toStdString();  // recorded by the first test
        const std::string saved = m_dir.filePath("saved.h5").toStdString();
        const SessionData data = SessionStore::read(path);
        QCOMPARE(data.planCosts.size(), std::size_t(1));
        QCOMPARE(data.planCosts.front().fingerprint, planCostFingerprint(m_provenance, m_calib, m_options));
        QCOMPARE(data.planCosts.front().modules.size(), std::size_t(35));
        QCOMPARE(data.planCosts.front().modules.front().name, std::string("model.layers.0.self_attn.q_proj"));  // forward order
        SessionStore::write(saved, data);
        const PlanCostTable again = recordedSweep(*m_model, m_calib, m_options, saved, m_provenance);
        QCOMPARE(again.reusedModules, std::size_t(35));
        QCOMPARE(again.forwards, std::size_t(0));
        const auto recorded = readPlanCosts(path, data.planCosts.front().fingerprint);
        for (std::size_t i = 0; i < 35; ++i) {
            QCOMPARE(again.modules[i].name, recorded[i].name);
            QCOMPARE(again.modules[i].measured, recorded[i].measured);
        }
        // A session without costs reads none and writes no /plan_costs group.
        SessionData plain = data;
        plain.planCosts.clear();
        SessionStore::write(saved, plain);
        QVERIFY(SessionStore::read(saved).planCosts.empty());
    }

private:
    std::shared_ptr<LlamaModel> m_model;
    std::vector<int> m_tokens;
    CalibrationSet m_calib;
    SessionProvenance m_provenance;
    PlanCostOptions m_options;
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestPlanCostStore)
#include "test_plan_cost_store.moc"

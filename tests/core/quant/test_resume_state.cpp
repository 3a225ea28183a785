// quantize --resume in core: a run interrupted after layer k and resumed from its state folder
// writes the checkpoint of an uninterrupted run byte for byte; a changed fingerprint refuses.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/io/safetensors_file.h"
#include "core/quant/pipeline.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/resume_state.h"
#include "core/text/tokenizer.h"
#include "support/cli_process.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb::core;
namespace fs = std::filesystem;

namespace {

// Small enough for a unit test: 8 windows of 128 tokens.
constexpr int kWindows = 8;
constexpr int kCtx = 128;

// Every scheme type the state must hold: grid codes (gptq, rtn, awq with its scaled norms),
// int8 rows (w8a8, llm_int8 with FP columns) and F16 weights.
const char* const kMixedPlan = R"({"default": {"method": "gptq", "bits": 4, "group_size": 32},
  "rules": [{"match": "*.self_attn.v_proj", "method": "rtn", "bits": 3, "group_size": 32},
            {"match": "*.self_attn.o_proj", "method": "fp16"},
            {"match": "*.mlp.gate_proj", "method": "awq", "bits": 4, "group_size": 32},
            {"match": "*.mlp.up_proj", "method": "awq", "bits": 4, "group_size": 32},
            {"match": "*.mlp.down_proj", "method": "llm_int8", "threshold": 0.5},
            {"match": "model.layers.4.self_attn.q_proj", "method": "w8a8"}]})";

// Requests a stop once layer `stopAfter` is durable: what a Ctrl-C at that moment does.
class StopAfterLayer final : public LayerJournal {
public:
    StopAfterLayer(LayerJournal& inner, const RunContext& ctx, int stopAfter) : m_inner(inner), m_ctx(ctx), m_stopAfter(stopAfter) {}
    std::optional<PartialQuantization> restore(const LlamaModel& model, const QuantPlan& plan, bool withLayers) override {
        return m_inner.restore(model, plan, withLayers);
    }
    void layerDone(const DecoderLayer& layer, const std::vector<ModuleReport>& modules, double seconds, const MatrixRM& hidden,
                   const MatrixRM& fpHidden) override {
        m_inner.layerDone(layer, modules, seconds, hidden, fpHidden);
        if (layer.index == m_stopAfter) m_ctx.requestStop();
    }

private:
    LayerJournal& m_inner;
    const RunContext& m_ctx;
    int m_stopAfter;
};

// quantbench_report.json without its wall times, which differ between any two runs.
nlohmann::json reportWithoutTimes(const fs::path& file) {
    auto j = nlohmann::json::parse(qb::test::readBytes(file));
    j.erase("seconds");
    for (auto& m : j["modules"]) m.erase("seconds");
    return j;
}

// Every file of two checkpoint folders: equal bytes (the report: equal but for its times).
void compareCheckpoints(const fs::path& a, const fs::path& b) {
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(a)) {
        const fs::path other = b / e.path().filename();
        QVERIFY2(fs::exists(other), other.c_str());
        if (e.path().filename() == "quantbench_report.json") {
            QCOMPARE(reportWithoutTimes(e.path()), reportWithoutTimes(other));
        } else {
            const std::string x = qb::test::readBytes(e.path()), y = qb::test::readBytes(other);
            QVERIFY2(!x.empty() && x == y, e.path().filename().c_str());
        }
        ++files;
    }
    QCOMPARE(std::size_t(std::distance(fs::directory_iterator(b), fs::directory_iterator())), files);
    QVERIFY(files >= 5);  // config, quantize_config, model.safetensors, report, tokenizer files
}

}  // namespace

class TestResumeState : public QObject {
    Q_OBJECT

    std::shared_ptr<const LlamaModel> m_model;
    std::string m_calibText;
    CalibrationSet m_calib;

    QuantizeFingerprint fingerprint(const QuantPlan& plan, std::uint64_t seed = 0) const {
        return quantizeFingerprint(qb::test::bundledModelDir(), plan, m_calibText, m_calib, seed, {}, "cpu");
    }
    // Quantizes with plan, resuming from / recording in folder when a journal is given, and writes out.
    void quantizeTo(const QuantPlan& plan, LayerJournal* journal, const fs::path& out, const RunContext& ctx = {}) const {
        QuantizeOptions options;
        options.journal = journal;
        const auto result = quantizeModel(*m_model, plan, m_calib, ctx, options);
        writeQuantizedCheckpoint(result, plan, qb::test::bundledModelDir(), out);
    }
    // Runs plan with a fresh state in folder and stops it once layer stopAfter is durable.
    void interruptAfter(const QuantPlan& plan, const fs::path& folder, int stopAfter) const {
        auto state = QuantizeResumeState::startFresh(folder, fingerprint(plan));
        const RunContext ctx;
        StopAfterLayer hook(*state, ctx, stopAfter);
        QuantizeOptions options;
        options.journal = &hook;
        QVERIFY_THROWS_EXCEPTION(Cancelled, (void)quantizeModel(*m_model, plan, m_calib, ctx, options));
    }

private slots:
    void initTestCase() {
        setThreadCount(1);  // no OpenMP spinning on a loaded CI machine; the bytes do not depend on it
        m_model = qb::test::bundledModel();
        const auto tok = Tokenizer::load(qb::test::bundledModelDir(), 1, 2);
        m_calibText = readTextFile(qb::test::bundledText("calib.txt"));
        m_calib = sampleCalibration(encodeDocuments(*tok, m_calibText), {.windows = kWindows, .ctx = kCtx, .seed = 0});
    }

    void aResumedRunWritesTheCheckpointOfAnUninterruptedOne_data() {
        QTest::addColumn<QString>("plan");
        QTest::addColumn<int>("stopAfter");
        QTest::newRow("rtn w4 g32, stopped after layer 0") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})" << 0;
        QTest::newRow("gptq w4 g32, stopped after layer 2") << R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})" << 2;
        QTest::newRow("gptq act-order w3, stopped after layer 3")
            << R"({"default": {"method": "gptq", "bits": 3, "group_size": 32, "act_order": true}})" << 3;
        QTest::newRow("mixed methods, stopped after layer 1") << kMixedPlan << 1;
        // OmniQuant's state also carries the float model's activations (its training targets).
        QTest::newRow("omniquant w4 g32, 1 epoch, stopped after layer 2")
            << R"({"default": {"method": "omniquant", "bits": 4, "group_size": 32, "epochs": 1}})" << 2;
        // W4A4: the state keeps the LET-folded norms and each module's activation width.
        QTest::newRow("omniquant w4a4 with LET, 1 epoch, stopped after layer 1")
            << R"({"default": {"method": "omniquant", "bits": 4, "group_size": -1, "act_bits": 4, "epochs": 1}})" << 1;
        QTest::newRow("rtn w4a6, stopped after layer 0") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32, "act_bits": 6}})" << 0;
    }
    void aResumedRunWritesTheCheckpointOfAnUninterruptedOne() {
        QFETCH(QString, plan);
        QFETCH(int, stopAfter);
        const auto p = QuantPlan::fromJsonText(plan.toStdString(), "test plan");
        const fs::path dir = qb::test::freshScratchDir("resume_identity");
        quantizeTo(p, nullptr, dir / "uninterrupted");

        const fs::path folder = QuantizeResumeState::folderFor(dir / "resumed");
        interruptAfter(p, folder, stopAfter);
        QCOMPARE(QuantizeResumeState::completeLayers(folder), stopAfter + 1);
        auto state = QuantizeResumeState::resume(folder, fingerprint(p));
        std::vector<std::string> log;
        quantizeTo(p, state.get(), dir / "resumed", RunContext(nullptr, [&](std::string_view l) { log.emplace_back(l); }));
        QVERIFY(std::find(log.begin(), log.end(), "resuming after layer " + std::to_string(stopAfter) + " (" +
                                                      std::to_string(stopAfter + 1) + " of 5 layers were done)") != log.end());
        compareCheckpoints(dir / "uninterrupted", dir / "resumed");
    }

    void aRunThatDropsItsLayersWritesTheSameCheckpointFromTheStateFiles() {
        // quantize's CLI path: each finished layer lives only in the state folder, and the
        // checkpoint is streamed from there one layer at a time. Every module type of the mixed
        // plan must come back bit for bit.
        const auto p = QuantPlan::fromJsonText(kMixedPlan, "test plan");
        const fs::path dir = qb::test::freshScratchDir("resume_streamed");
        quantizeTo(p, nullptr, dir / "in-memory");
        auto state = QuantizeResumeState::startFresh(QuantizeResumeState::folderFor(dir / "streamed"), fingerprint(p));
        QuantizeOptions options;
        options.journal = state.get();
        options.keepLayers = false;
        const auto result = quantizeModel(*m_model, p, m_calib, {}, options);
        QVERIFY(!result.model);  // no quantized layer is held
        QCOMPARE(result.modules.size(), std::size_t(5 * 7));
        writeQuantizedCheckpoint(*m_model, [&](int i) { return state->layer(i, m_model->config(), p); }, result, p,
                                 qb::test::bundledModelDir(), dir / "streamed");
        compareCheckpoints(dir / "in-memory", dir / "streamed");
    }

    void aRunThatDropsItsLayersNeedsAJournal() {
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4}})", "test plan");
        QuantizeOptions options;
        options.keepLayers = false;
        QVERIFY_THROWS_EXCEPTION(Error, (void)quantizeModel(*m_model, p, m_calib, {}, options));
    }

    void theStateHoldsGridCodesPackedAsTheCheckpointDoes() {
        // W4: a layer file takes bits/8 bytes per code (q_proj 64×64: qweight [8, 64] int32 =
        // 2,048 bytes), so the whole file is smaller than one byte per weight would be.
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})", "test plan");
        const fs::path folder = qb::test::freshScratchDir("resume_packed") / "out.quantize-state";
        interruptAfter(p, folder, 0);
        const fs::path layerFile = folder / "layer-00000.safetensors";
        const auto file = SafetensorsFile::open(layerFile);
        QVERIFY(!file->find("self_attn.q_proj.codes"));
        const TensorInfo* qweight = file->find("self_attn.q_proj.qweight");
        QVERIFY(qweight);
        QCOMPARE(qweight->dtype, DType::I32);
        QCOMPARE(qweight->shape, (std::vector<std::int64_t>{8, 64}));
        QCOMPARE(file->find("self_attn.q_proj.scales")->dtype, DType::F16);
        std::uintmax_t weights = 0;
        for (ModuleKind k : kAllModuleKinds) {
            const auto& L = *m_model->layer(0)->linear(k);
            weights += std::uintmax_t(L.outFeatures() * L.inFeatures());
        }
        QCOMPARE(weights, std::uintmax_t(2 * 64 * 64 + 2 * 32 * 64 + 3 * 172 * 64));  // 45,312
        QVERIFY2(fs::file_size(layerFile) < weights, std::to_string(fs::file_size(layerFile)).c_str());
    }

    // A weight-activation grid module comes back from the state with its activation width.
    void aRestoredModuleKeepsItsActivationWidth() {
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32, "act_bits": 6}})", "test plan");
        const fs::path folder = qb::test::freshScratchDir("resume_act_bits") / "out.quantize-state";
        interruptAfter(p, folder, 0);
        auto state = QuantizeResumeState::resume(folder, fingerprint(p));
        const auto partial = state->restore(*m_model, p, true);
        QVERIFY(partial && !partial->layers.empty());
        const auto* q = dynamic_cast<const QuantizedLinear*>(partial->layers[0]->linear(ModuleKind::Q).get());
        QVERIFY(q);
        QCOMPARE(q->actBits(), std::optional<int>(6));
    }

    void aLayerWhoseActivationsNeverLandedIsRedone() {
        // A kill after layer 2's file landed but before its activations did: layers 0..1 are
        // kept, layer 2 is redone, and a .part file of a killed write is dropped.
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}})", "test plan");
        const fs::path dir = qb::test::freshScratchDir("resume_prefix");
        const fs::path folder = QuantizeResumeState::folderFor(dir / "resumed");
        interruptAfter(p, folder, 1);
        fs::copy_file(folder / "layer-00001.safetensors", folder / "layer-00002.safetensors");
        std::ofstream(folder / "hidden-00002.safetensors.part") << "half a file";
        QCOMPARE(QuantizeResumeState::completeLayers(folder), 2);
        auto state = QuantizeResumeState::resume(folder, fingerprint(p));
        quantizeTo(p, state.get(), dir / "resumed");
        quantizeTo(p, nullptr, dir / "uninterrupted");
        compareCheckpoints(dir / "uninterrupted", dir / "resumed");
        QVERIFY(!fs::exists(folder / "hidden-00002.safetensors.part"));
    }

    void aChangedSeedRefusesToResumeNamingIt() {
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4}})", "test plan");
        const fs::path folder = qb::test::freshScratchDir("resume_seed") / "out.quantize-state";
        interruptAfter(p, folder, 0);
        try {
            (void)QuantizeResumeState::resume(folder, fingerprint(p, 7));
            QFAIL("resumed despite another seed");
        } catch (const Error& e) {
            QCOMPARE(std::string(e.what()), "cannot resume from " + folder.string() +
                                                ": the seed changed (0 → 7) since the interrupted run (run without --resume to start again)");
        }
    }

    void aChangedPlanRefusesToResumeNamingIt() {
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4}})", "test plan");
        const auto other = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 3}})", "test plan");
        const fs::path folder = qb::test::freshScratchDir("resume_plan") / "out.quantize-state";
        interruptAfter(p, folder, 0);
        QVERIFY_THROWS_EXCEPTION(Error, (void)QuantizeResumeState::resume(folder, fingerprint(other)));
        try {
            (void)QuantizeResumeState::resume(folder, fingerprint(other));
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find(": the plan changed since the interrupted run") != std::string::npos, e.what());
        }
        QCOMPARE(QuantizeResumeState::completeLayers(folder), 1);  // a refusal removes nothing
    }

    void aFreshRunRemovesAStaleStateAndSaysSo() {
        const auto p = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4}})", "test plan");
        const fs::path folder = qb::test::freshScratchDir("resume_fresh") / "out.quantize-state";
        interruptAfter(p, folder, 1);
        std::vector<std::string> log;
        auto state = QuantizeResumeState::startFresh(folder, fingerprint(p), RunContext(nullptr, [&](std::string_view l) { log.emplace_back(l); }));
        QCOMPARE(log.size(), std::size_t(1));
        QVERIFY2(log[0].rfind("removed the state of an interrupted run (2 layers) in " + folder.string(), 0) == 0, log[0].c_str());
        QCOMPARE(QuantizeResumeState::completeLayers(folder), 0);
        QVERIFY(!state->restore(*m_model, p, true).has_value());
        state->remove();
        QVERIFY(!fs::exists(folder));
    }
};

QTEST_GUILESS_MAIN(TestResumeState)
#include "test_resume_state.moc"

// core's one size formula (schemeBytes) against the bytes the quantized checkpoint writer really
// stores for each module of the bundled model, per method, and against each module's
// storageBytes(). The plan view, the report and the autopilot use this formula, so a plan's
// predicted size is the size of what `quantize` writes.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/io/checkpoint.h"
#include "core/quant/pipeline.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/scheme_size.h"
#include "core/text/tokenizer.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// Bytes of every tensor "<module>.*" of the checkpoint in dir, by module name.
std::map<std::string, std::uint64_t> writtenModuleBytes(const std::filesystem::path& dir, const std::vector<std::string>& modules) {
    const auto ckpt = Checkpoint::open(dir);
    std::map<std::string, std::uint64_t> bytes;
    for (const TensorInfo* t : ckpt->tensors())
        for (const auto& m : modules)
            if (t->name.rfind(m + ".", 0) == 0) bytes[m] += t->nbytes;
    return bytes;
}

Index writtenFpColumns(const std::filesystem::path& dir, const std::string& module) {
    const auto ckpt = Checkpoint::open(dir);
    const TensorInfo* t = ckpt->find(module + ".fp_columns");
    return t ? Index(t->shape.at(0)) : 0;
}

}  // namespace

class TestSchemeSize : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        setThreadCount(2);
        const auto ids = test::bundledTokens("calib.txt");
        m_calib = sampleCalibration(ids, {.windows = 4, .ctx = 64, .seed = 0});
        m_model = loadModel(test::bundledModelDir());
    }

    // The GPTQ layout by hand for a 64×64 module at 4 bits, group 32: qweight 2·4 words per
    // output column, qzeros 2 groups × 2·4 words, 2×64 F16 scales, 64 int32 g_idx.
    void gridLayoutByHand() {
        QuantScheme s;
        s.method = QuantMethod::Gptq;
        s.grid = {4, 32, false};
        const SchemeStorage st = schemeStorage(s, 64, 64);
        QCOMPARE(st.weight, std::uint64_t(2 * 4 * 64 * 4));
        QCOMPARE(st.zeros, std::uint64_t(2 * 2 * 4 * 4));
        QCOMPARE(st.scales, std::uint64_t(2 * 64 * 2));
        QCOMPARE(st.groupIndex, std::uint64_t(64 * 4));
        s.gptq.actOrder = true;  // g_idx is written either way
        QCOMPARE(schemeBytes(s, 64, 64), st.total());
        s.grid.bits = 9;
        QVERIFY_THROWS_EXCEPTION(Error, (void)schemeBytes(s, 64, 64));
    }

    // 5 bits: the same formula, qweight [⌈64/32⌉·5, 64] and qzeros [2, ⌈64/32⌉·5] int32 words.
    void fiveBitsByHand() {
        QuantScheme s;
        s.method = QuantMethod::Rtn;
        s.grid = {5, 32, false};
        const SchemeStorage st = schemeStorage(s, 64, 64);
        QCOMPARE(st.weight, std::uint64_t(2 * 5 * 64 * 4));  // 5 bits per weight exactly
        QCOMPARE(st.zeros, std::uint64_t(2 * 2 * 5 * 4));
        QCOMPARE(st.scales, std::uint64_t(2 * 64 * 2));
        QCOMPARE(st.groupIndex, std::uint64_t(64 * 4));
    }

    // int8 schemes store F32 row scales (the plan view's old copy counted F16) and LLM.int8()
    // adds its FP16 columns and their indices.
    void int8ByHand() {
        QuantScheme s;
        s.method = QuantMethod::W8A8;
        QCOMPARE(schemeBytes(s, 64, 172), std::uint64_t(64 * 172 + 64 * 4));
        s.method = QuantMethod::LlmInt8;
        QCOMPARE(schemeBytes(s, 64, 172, {false, 3}), std::uint64_t(64 * 172 + 64 * 4 + 3 * (4 + 64 * 2)));
        QCOMPARE(schemeBytes(s, 64, 172, {true, 0}), std::uint64_t(64 * 172 + 64 * 4 + 64 * 4));
    }

    void equalsWrittenCheckpoint_data() {
        QTest::addColumn<QString>("plan");
        QTest::newRow("rtn w4 g32") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
        QTest::newRow("rtn w3 per-row sym") << R"({"default": {"method": "rtn", "bits": 3, "group_size": -1, "sym": true}})";
        QTest::newRow("gptq w2 g16 act-order") << R"({"default": {"method": "gptq", "bits": 2, "group_size": 16, "act_order": true}})";
        QTest::newRow("gptq w8 g128") << R"({"default": {"method": "gptq", "bits": 8, "group_size": 128}})";
        QTest::newRow("awq w4 g64") << R"({"default": {"method": "awq", "bits": 4, "group_size": 64}})";
        QTest::newRow("w8a8") << R"({"default": {"method": "w8a8"}})";
        QTest::newRow("smoothquant") << R"({"default": {"method": "smoothquant", "alpha": 0.5}})";
        QTest::newRow("llm_int8 t1") << R"({"default": {"method": "llm_int8", "threshold": 1.0}})";
        QTest::newRow("fp16") << R"({"default": {"method": "fp16"}})";
        QTest::newRow("mixed") << R"({"default": {"method": "gptq", "bits": 3, "group_size": 32},
                                      "rules": [{"match": "*.mlp.down_proj", "method": "w8a8"},
                                                {"match": "model.layers.0.*", "method": "fp16"}]})";
    }
    void equalsWrittenCheckpoint() {
        QFETCH(QString, plan);
        const QuantPlan p = QuantPlan::fromJsonText(plan.toStdString(), "test plan");
        const QuantizeResult r = quantizeModel(*m_model, p, m_calib);
        const auto dir = test::freshScratchDir("scheme-size") / "out";
        writeQuantizedCheckpoint(r, p, test::bundledModelDir(), dir);
        const auto names = linearModuleNames(m_model->config());
        const auto written = writtenModuleBytes(dir, names);
        Index fpColumnsSeen = 0;
        for (const ModuleReport& m : r.modules) {
            const Index k = writtenFpColumns(dir, m.name);
            fpColumnsSeen += k;
            const std::uint64_t predicted = schemeBytes(m.scheme, m.outFeatures, m.inFeatures, {false, k});
            if (predicted != written.at(m.name) || predicted != m.bytes)
                QFAIL(qPrintable(QString("%1 (%2): formula %3, checkpoint %4, storageBytes %5")
                                     .arg(QString::fromStdString(m.name), QString::fromStdString(m.scheme.label()))
                                     .arg(predicted).arg(written.at(m.name)).arg(m.bytes)));
        }
        if (p.defaultScheme.method == QuantMethod::LlmInt8) QVERIFY(fpColumnsSeen > 0);  // the FP columns were exercised
    }

private:
    CalibrationSet m_calib;
    std::shared_ptr<LlamaModel> m_model;
};

QTEST_GUILESS_MAIN(TestSchemeSize)
#include "test_scheme_size.moc"

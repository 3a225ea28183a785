// quantbench's own quantized checkpoint (what `quantize` writes): v1 zero points when every
// group's zero point is ≥ 1, GPTQModel's v2 when one is 0 (v1 cannot hold it), reloaded exactly
// either way; modules the standard GPTQ layout cannot hold are noted in the report data.
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/backend/backend.h"
#include "core/quant/quantized_checkpoint.h"
#include "hf_export_fixtures.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

nlohmann::json readJson(const std::filesystem::path& file) {
    std::ifstream in(file);
    return nlohmann::json::parse(in);
}

}  // namespace

class TestQuantizedCheckpoint : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { setThreadCount(2); }

    void aZeroPointOfZeroSwitchesToV2AndReloadsExactly() {
        const std::string planText = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
        QuantizeResult r = test::quantizeBundled(planText);
        test::putHandWeight(*r.model);  // output 0 of group 0 has a zero point of 0
        const auto dir = test::freshScratchDir("qckpt-v2") / "out";
        writeQuantizedCheckpoint(r, QuantPlan::fromJsonText(planText, "plan"), test::bundledModelDir(), dir);
        const auto q = readJson(dir / "config.json")["quantization_config"];
        QCOMPARE(q["checkpoint_format"].get<std::string>(), std::string("gptq_v2"));
        QCOMPARE(readJson(dir / "quantize_config.json")["checkpoint_format"].get<std::string>(), std::string("gptq_v2"));
        const auto reloaded = loadModel(dir);
        const auto& ql = dynamic_cast<const QuantizedLinear&>(*reloaded->layer(0)->linear(ModuleKind::Q));
        QCOMPARE(ql.weight().zeros, test::handWeight().zeros);
        QCOMPARE(ql.denseWeight(), test::handWeight().dequantize());
        for (int i = 0; i < 5; ++i)
            for (ModuleKind k : kAllModuleKinds) QCOMPARE(reloaded->layer(i)->linear(k)->denseWeight(), r.model->layer(i)->linear(k)->denseWeight());
        // The 172-wide MLP is padded here; the report data says a GPTQ export keeps it F16.
        const auto report = readJson(dir / "quantbench_report.json");
        int notes = 0;
        for (const auto& m : report["modules"]) notes += m.contains("export_note");
        QCOMPARE(notes, 15);
        QVERIFY(q["quantbench"]["modules"]["model.layers.0.mlp.down_proj"].contains("standard_layout"));
    }

    void symmetricGroupsStayV1() {
        const std::string planText = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32, "sym": true}})";
        const QuantizeResult r = test::quantizeBundled(planText);
        const auto dir = test::freshScratchDir("qckpt-v1") / "out";
        writeQuantizedCheckpoint(r, QuantPlan::fromJsonText(planText, "plan"), test::bundledModelDir(), dir);
        QCOMPARE(readJson(dir / "config.json")["quantization_config"]["checkpoint_format"].get<std::string>(), std::string("gptq"));
        const auto reloaded = loadModel(dir);
        QCOMPARE(reloaded->layer(3)->linear(ModuleKind::V)->denseWeight(), r.model->layer(3)->linear(ModuleKind::V)->denseWeight());
    }
};

QTEST_GUILESS_MAIN(TestQuantizedCheckpoint)
#include "test_quantized_checkpoint.moc"

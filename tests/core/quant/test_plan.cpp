// Plans (core/quant/plan.h): one test per validation error with its exact one-line message,
// rule order and globs, warnings, and the group-size conventions of the plan file.
#include <QtTest>

#include <fstream>

#include "core/quant/plan.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// The message of the Error that parsing text as "plan.json" throws; empty when it parses.
QString errorOf(const std::string& text) {
    try {
        (void)QuantPlan::fromJsonText(text, "plan.json");
    } catch (const Error& e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

}  // namespace

class TestPlan : public QObject {
    Q_OBJECT
private slots:
    // ---- errors: one line, naming the file and the rule ----------------------------------
    void unknownMethod() {
        QCOMPARE(errorOf(R"({"default": {"method": "gptq4"}})"),
                 QString::fromUtf8("plan.json: default: unknown method 'gptq4' (known: fp16, rtn, gptq, awq, w8a8, smoothquant, llm_int8, omniquant)"));
    }
    void unknownKey() {
        QCOMPARE(errorOf(R"({"rules": [{"match": "*", "bitz": 4}]})"), QString::fromUtf8("plan.json: rule 1: unknown key \"bitz\""));
    }
    void bitsOutsideThePackedFormats_data() {
        // The packed weights and the GPTQ bit streams hold every width from 2 to 8 bits.
        QTest::addColumn<int>("bits");
        for (int b : {1, 9, 16}) QTest::addRow("bits %d", b) << b;
    }
    void bitsOutsideThePackedFormats() {
        QFETCH(int, bits);
        const std::string text = R"({"rules": [{"match": "*q_proj", "bits": 8}, {"match": "*", "bits": )" + std::to_string(bits) + "}]}";
        QCOMPARE(errorOf(text), QString::fromUtf8("plan.json: rule 2: \"bits\" is %1, outside 2–8").arg(bits));
    }
    void everyWidthFromTwoToEightParses() {
        for (int bits = 2; bits <= 8; ++bits) {
            const auto plan = QuantPlan::fromJsonText(R"({"default": {"method": "gptq", "bits": )" + std::to_string(bits) + "}}", "plan.json");
            QCOMPARE(plan.resolve("model.layers.0.mlp.up_proj").grid.bits, bits);
        }
    }
    void actBitsFromFourToEightParse() {
        for (int a = 4; a <= 8; ++a) {
            const auto plan = QuantPlan::fromJsonText(R"({"default": {"method": "smoothquant", "act_bits": )" + std::to_string(a) + "}}", "plan.json");
            QCOMPARE(plan.resolve("model.layers.0.mlp.up_proj").smooth.actBits, a);
        }
    }
    // act_bits makes omniquant a weight-activation scheme (trained with LET); null, weight-only again.
    void actBitsMakeOmniQuantWeightActivation() {
        const auto plan = QuantPlan::fromJsonText(
            R"({"default": {"method": "omniquant", "bits": 4, "act_bits": 6}, "rules": [{"match": "*.mlp.down_proj", "act_bits": null}]})",
            "plan.json");
        const QuantScheme q = plan.resolve("model.layers.0.self_attn.q_proj"), down = plan.resolve("model.layers.0.mlp.down_proj");
        QCOMPARE(q.gridActBits, std::optional<int>(6));
        QVERIFY(q.omniquant.let);
        QCOMPARE(down.gridActBits, std::optional<int>());
        QCOMPARE(QString::fromStdString(q.label()), QString::fromUtf8("omniquant w4 g128 asym a6 (simulated) let epochs=20 lr=0.005"));
        const auto again = QuantPlan::fromJsonText(plan.toJsonText(), "again.json");  // the round trip keeps both
        QCOMPARE(again.resolve("model.layers.0.self_attn.q_proj").gridActBits, std::optional<int>(6));
        QCOMPARE(again.resolve("model.layers.0.mlp.down_proj").gridActBits, std::optional<int>());
        QCOMPARE(errorOf(R"({"default": {"method": "omniquant", "act_bits": 3}})"),
                 QString::fromUtf8("plan.json: default: \"act_bits\" is 3, outside 4–8"));
    }
    void groupSizeZero() {
        QCOMPARE(errorOf(R"({"default": {"method": "rtn", "group_size": 0}})"),
                 QString::fromUtf8("plan.json: default: \"group_size\" is 0; use a positive size or -1 for one group per row"));
    }
    void actBitsAboveEight() {
        // W8A8 quantizes activations to int8: act_bits 16 used to pass --dry-run and fail mid-run.
        QCOMPARE(errorOf(R"({"default": {"method": "w8a8", "act_bits": 16}})"),
                 QString::fromUtf8("plan.json: default: \"act_bits\" is 16, outside 4–8"));
        QCOMPARE(errorOf(R"({"default": {"method": "w8a8", "act_bits": 9}})"),
                 QString::fromUtf8("plan.json: default: \"act_bits\" is 9, outside 4–8"));
    }
    void actBitsBelowFour() {
        QCOMPARE(errorOf(R"({"rules": [{"match": "*", "method": "smoothquant", "act_bits": 1}]})"),
                 QString::fromUtf8("plan.json: rule 1: \"act_bits\" is 1, outside 4–8"));
        QCOMPARE(errorOf(R"({"rules": [{"match": "*", "method": "smoothquant", "act_bits": 3}]})"),
                 QString::fromUtf8("plan.json: rule 1: \"act_bits\" is 3, outside 4–8"));
    }
    void thresholdZero() {
        QCOMPARE(errorOf(R"({"default": {"method": "llm_int8", "threshold": 0}})"),
                 QString::fromUtf8("plan.json: default: \"threshold\" is 0; it must be a finite number > 0"));
    }
    void thresholdNegative() {
        QCOMPARE(errorOf(R"({"default": {"method": "llm_int8", "threshold": -6.0}})"),
                 QString::fromUtf8("plan.json: default: \"threshold\" is -6.0; it must be a finite number > 0"));
    }
    void dampPercentAboveOne() {
        QCOMPARE(errorOf(R"({"default": {"method": "gptq", "damp_percent": 1.5}})"),
                 QString::fromUtf8("plan.json: default: \"damp_percent\" is 1.5, outside 0.0–1.0"));
    }
    void blockSizeZero() {
        QCOMPARE(errorOf(R"({"default": {"method": "gptq", "block_size": 0}})"),
                 QString::fromUtf8("plan.json: default: \"block_size\" is 0, outside 1–65536"));
    }
    void awqGridZero() {
        QCOMPARE(errorOf(R"({"default": {"method": "awq", "grid": 0}})"), QString::fromUtf8("plan.json: default: \"grid\" is 0, outside 1–1000"));
    }
    void alphaAboveOne() {
        QCOMPARE(errorOf(R"({"default": {"method": "smoothquant", "alpha": 1.25}})"),
                 QString::fromUtf8("plan.json: default: \"alpha\" is 1.25, outside 0.0–1.0"));
    }
    void malformedJsonNamesTheFileLineAndColumn() {
        const auto file = test::freshScratchDir("plan-malformed") / "plan.json";
        std::ofstream(file) << "{\"default\": {\"method\": \"rtn\"},\n \"rules\": [{\"match\": \"*\",}]}\n";
        try {
            (void)QuantPlan::fromFile(file);
            QFAIL("a malformed plan parsed");
        } catch (const Error& e) {
            // line 2: ` "rules": [{"match": "*",}]}` — the '}' after the comma is column 26.
            QCOMPARE(QString::fromUtf8(e.what()), QString::fromStdString(file.string() + ": malformed JSON at line 2, column 26"));
        }
    }
    void missingFileNamesIt() {
        const auto file = test::freshScratchDir("plan-missing") / "absent.json";
        try {
            (void)QuantPlan::fromFile(file);
            QFAIL("a missing plan file parsed");
        } catch (const Error& e) {
            QCOMPARE(QString::fromUtf8(e.what()), QString::fromStdString(file.string() + ": cannot read the plan (missing or unreadable)"));
        }
    }

    // ---- what a valid plan means --------------------------------------------------------
    void everyKeyAtTheEdgeOfItsRangeParses() {
        const std::string text = R"({"default": {"method": "gptq", "bits": 2, "group_size": 1, "damp_percent": 0.0,
            "block_size": 1, "act_bits": 4, "threshold": 0.001, "grid": 1, "alpha": 1.0},
            "rules": [{"match": "*", "bits": 8, "act_bits": 8, "damp_percent": 1.0, "alpha": 0.0}]})";
        QCOMPARE(errorOf(text), QString());
        const QuantScheme s = QuantPlan::fromJsonText(text, "plan.json").resolve("model.layers.0.mlp.up_proj");
        QCOMPARE(s.grid.bits, 8);
        QCOMPARE(s.smooth.actBits, 8);
        QCOMPARE(s.llmInt8.threshold, 0.001);
        QCOMPARE(*s.grid.groupSize, 1);
    }
    void laterRulesOverrideEarlierOnes() {
        const auto plan = QuantPlan::fromJsonText(R"({"default": {"method": "gptq", "bits": 4, "group_size": 128},
            "rules": [{"match": "model.layers.*.mlp.*", "bits": 8},
                      {"match": "model.layers.1.*", "method": "rtn", "group_size": 32},
                      {"match": "model.layers.1.mlp.down_proj", "bits": 3}]})",
                                                  "plan.json");
        const QuantScheme down1 = plan.resolve("model.layers.1.mlp.down_proj");  // rules 1, 2, 3
        QCOMPARE(down1.method, QuantMethod::Rtn);
        QCOMPARE(down1.grid.bits, 3);
        QCOMPARE(*down1.grid.groupSize, 32);
        const QuantScheme up1 = plan.resolve("model.layers.1.mlp.up_proj");  // rules 1, 2
        QCOMPARE(up1.method, QuantMethod::Rtn);
        QCOMPARE(up1.grid.bits, 8);
        const QuantScheme up0 = plan.resolve("model.layers.0.mlp.up_proj");  // rule 1: keeps gptq g128
        QCOMPARE(up0.method, QuantMethod::Gptq);
        QCOMPARE(up0.grid.bits, 8);
        QCOMPARE(*up0.grid.groupSize, 128);
        QCOMPARE(plan.resolve("model.layers.0.self_attn.q_proj").grid.bits, 4);  // no rule: the default
    }
    void globsMatchWholeNames() {
        QVERIFY(globMatch("model.layers.*.mlp.*", "model.layers.12.mlp.down_proj"));  // '*' spans dots
        QVERIFY(globMatch("model.layers.?.self_attn.q_proj", "model.layers.3.self_attn.q_proj"));
        QVERIFY(!globMatch("model.layers.?.self_attn.q_proj", "model.layers.13.self_attn.q_proj"));  // '?' is one character
        QVERIFY(!globMatch("*q_proj", "model.layers.0.self_attn.q_proj.bias"));  // anchored at the end
        QVERIFY(!globMatch("layers.0.*", "model.layers.0.mlp.up_proj"));        // and at the start
    }
    void ruleMatchingNoModuleIsAWarning() {
        const auto plan = QuantPlan::fromJsonText(R"({"rules": [{"match": "model.layers.0.*", "bits": 8},
            {"match": "model.layers.9.*", "method": "fp16"}]})",
                                                  "plan.json");
        const std::vector<std::string> names = {"model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"};
        QCOMPARE(plan.check(names), std::vector<std::string>{"rule 2 (model.layers.9.*) matches no module"});
    }
    void groupSizeMinusOneMeansOneGroupPerRow() {
        const auto plan = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4, "group_size": -1}})", "plan.json");
        const QuantScheme s = plan.resolve("model.layers.0.mlp.down_proj");
        QVERIFY(!s.grid.groupSize.has_value());
        const QuantizedWeight Q = quantizeRtn(test::randomMatrix(6, 172, 1), s.grid);
        QCOMPARE(Q.groups(), Index(1));
        QVERIFY(plan.toJsonText().find("\"group_size\": -1") != std::string::npos);  // written back as -1
    }
    void trailingPartialGroupIsAllowed() {
        // 70 input columns in groups of 32: groups of 32, 32 and a trailing 6.
        const auto plan = QuantPlan::fromJsonText(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})", "plan.json");
        const QuantScheme s = plan.resolve("model.layers.0.mlp.down_proj");
        const MatrixRM W = test::randomMatrix(4, 70, 2);
        const QuantizedWeight Q = quantizeRtn(W, s.grid);
        QCOMPARE(Q.groups(), Index(3));
        QCOMPARE(Q.gIdx[63], 1);
        QCOMPARE(Q.gIdx[64], 2);
        QCOMPARE(Q.gIdx[69], 2);
        // The trailing group's grid comes from its own 6 values: |W − Ŵ| ≤ half its step.
        const MatrixRM dW = (W - Q.dequantize()).cwiseAbs();
        for (Index r = 0; r < 4; ++r) QVERIFY(dW.row(r).tail(6).maxCoeff() <= 0.5f * Q.scales(r, 2) * 1.0001f);
    }
};

QTEST_APPLESS_MAIN(TestPlan)
#include "test_plan.moc"

// Method names and scheme labels (the words the CLI, the plan file and the GUI share).
#include <QtTest>

#include "core/quant/quant_scheme.h"

using namespace qb::core;

class TestQuantScheme : public QObject {
    Q_OBJECT
private slots:
    void methodNamesRoundTrip() {
        const QuantMethod all[] = {QuantMethod::Fp16, QuantMethod::Rtn,         QuantMethod::Gptq,   QuantMethod::Awq,
                                   QuantMethod::W8A8, QuantMethod::SmoothQuant, QuantMethod::LlmInt8};
        for (QuantMethod m : all) QCOMPARE(methodFromName(methodName(m)), std::optional<QuantMethod>(m));
        QCOMPARE(methodName(QuantMethod::LlmInt8), std::string("llm_int8"));
        QCOMPARE(methodName(QuantMethod::SmoothQuant), std::string("smoothquant"));
    }
    void unknownMethodNameIsEmpty() {
        QVERIFY(!methodFromName("GPTQ").has_value());  // names are lower case
        QVERIFY(!methodFromName("").has_value());
    }
    void labelsNameTheSettings() {
        QuantScheme s;
        s.method = QuantMethod::Gptq;
        s.grid = {4, 128, false};
        s.gptq.actOrder = true;
        QCOMPARE(s.label(), std::string("gptq w4 g128 asym act-order"));
        s.method = QuantMethod::Rtn;
        s.grid = {3, std::nullopt, true};
        QCOMPARE(s.label(), std::string("rtn w3 per-row sym"));
        s.method = QuantMethod::Awq;
        s.grid = {4, 32, false};
        s.awq.clipSearch = false;
        QCOMPARE(s.label(), std::string("awq w4 g32 asym no-clip"));
        s.method = QuantMethod::SmoothQuant;
        QCOMPARE(s.label(), std::string("smoothquant alpha=0.5"));
        s.method = QuantMethod::LlmInt8;
        QCOMPARE(s.label(), std::string("llm_int8 threshold=6"));
        s.method = QuantMethod::W8A8;
        QCOMPARE(s.label(), std::string("w8a8"));
        s.method = QuantMethod::Rtn;
        s.grid = {6, 32, false};
        QCOMPARE(s.label(), std::string("rtn w6 g32 asym"));
    }
    void subEightBitActivationsAreLabelledSimulated() {
        QuantScheme s;
        s.method = QuantMethod::W8A8;
        s.smooth.actBits = 6;
        QCOMPARE(s.label(), std::string("w8a6 (simulated)"));
        s.method = QuantMethod::SmoothQuant;
        s.smooth.actBits = 4;
        QCOMPARE(s.label(), std::string("smoothquant alpha=0.5 a4 (simulated)"));
        s.smooth.actBits = 8;
        QCOMPARE(s.label(), std::string("smoothquant alpha=0.5"));
        s.method = QuantMethod::Fp16;
        QCOMPARE(s.label(), std::string("fp16"));
    }
};

QTEST_APPLESS_MAIN(TestQuantScheme)
#include "test_quant_scheme.moc"

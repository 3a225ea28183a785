// GPTQModel's quantization_config.dynamic as GPTQModel's dynamic_get and vLLM's
// get_dynamic_override read it: rules in file order, Python re.match (anchored at the start of
// the module name, not at its end), the first matching rule decides, "-:" leaves the module
// unquantized. The loader of quantized checkpoints and the GPTQ export reader both use this.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "core/quant/gptq_dynamic.h"
#include "core/text/regex.h"
#include "core/util/error.h"

using namespace qb::core;
using Json = nlohmann::ordered_json;

class TestGptqDynamic : public QObject {
    Q_OBJECT

private slots:
    void firstMatchingRuleDecides() {
        // Both rules match layers.3's down_proj; GPTQModel returns the first (bits 8), and a
        // reader that applied every match in turn would end at 2.
        const auto rules = GptqDynamicRules::parse(
            Json::parse("{\"+:.*down_proj\": {\"bits\": 8}, \"+:model\\\\.layers\\\\.3\\\\.\": {\"bits\": 2}}"), "dynamic");
        const GptqDynamicRule* r = rules.match("model.layers.3.mlp.down_proj");
        QVERIFY(r);
        QCOMPARE(r->overrides["bits"].get<int>(), 8);
        QCOMPARE(rules.match("model.layers.3.mlp.up_proj")->overrides["bits"].get<int>(), 2);
    }

    void matchIsAnchoredAtTheStartOnly() {
        const auto rules = GptqDynamicRules::parse(Json::parse("{\"-:layers\\\\.0\\\\.\": {}}"), "dynamic");
        QVERIFY(!rules.match("model.layers.0.self_attn.q_proj"));  // re.match: not found mid-name
        const GptqDynamicRule* r = rules.match("layers.0.self_attn.q_proj");  // a prefix is enough
        QVERIFY(r);
        QVERIFY(r->skip);
    }

    void unprefixedKeysAreIgnored() {
        const auto rules = GptqDynamicRules::parse(Json::parse("{\"bits\": 3, \"*:x\": {}, \"+:\": {}, \"+:a\": {\"bits\": 3}}"), "dynamic");
        QCOMPARE(rules.rules().size(), std::size_t(1));
        QVERIFY(!rules.match("b"));
    }

    void invalidPatternNamesTheKey() {
        try {
            (void)GptqDynamicRules::parse(Json::parse("{\"+:model.(layers\": {\"bits\": 8}}"), "config.json: quantization_config.dynamic");
            QFAIL("an unbalanced parenthesis was accepted");
        } catch (const qb::core::Error& e) {
            const QString msg = QString::fromUtf8(e.what());
            QVERIFY2(msg.startsWith("config.json: quantization_config.dynamic['+:model.(layers']: not a valid regular expression"),
                     qPrintable(msg));
        }
    }

    void overrideThatIsNotAnObjectIsRefused() {
        QVERIFY_THROWS_EXCEPTION(qb::core::Error, GptqDynamicRules::parse(Json::parse("{\"+:x\": 8}"), "dynamic"));
    }

    void pathologicalPatternFailsWithAnErrorNotAHang() {
        // (a+)+$ against 40 a's and a b backtracks exponentially; PCRE2's match limit ends it.
        const auto rules = GptqDynamicRules::parse(Json::parse("{\"+:(a+)+$\": {\"bits\": 8}}"), "dynamic");
        QVERIFY_THROWS_EXCEPTION(qb::core::Error, (void)rules.match(std::string(40, 'a') + "b"));
    }
};

QTEST_APPLESS_MAIN(TestGptqDynamic)
#include "test_gptq_dynamic.moc"

// parseJsonInput (core/util/json_input.h): outside JSON nested deeper than 64 levels, or larger
// than its kind's bound, is refused in one line naming the file, on every path that reads such
// JSON (config.json, the safetensors index and header, tokenizer.json, a plan); the real files
// quantbench reads stay well inside the bounds.
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/io/checkpoint.h"
#include "core/io/model_config.h"
#include "core/io/safetensors_file.h"
#include "core/quant/plan.h"
#include "core/text/hf_tokenizer.h"
#include "core/util/error.h"
#include "core/util/json_file.h"
#include "core/util/json_input.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace qb;

namespace {

// levels arrays inside one another: "[[[…]]]".
std::string nested(int levels) { return std::string(std::size_t(levels), '[') + std::string(std::size_t(levels), ']'); }

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The bundled model's config.json with one more key holding `levels` nested arrays.
std::string configWithNesting(int levels) {
    std::string text = readAll(test::bundledModelDir() / "config.json");
    const std::size_t brace = text.find('{');
    return text.insert(brace + 1, "\"extra\": " + nested(levels) + ", ");
}

// The message f() throws as core::Error ("" when it throws none).
template <class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const core::Error& e) {
        return e.what();
    }
    return {};
}

std::string tooDeep(const fs::path& file) { return file.string() + ": JSON nested deeper than 64 levels"; }

}  // namespace

class TestJsonInput : public QObject {
    Q_OBJECT

private slots:
    void nestingUpToTheBoundParsesAndOneLevelMoreIsRefused() {
        QCOMPARE(core::kJsonMaxDepth, 64);
        const auto j = core::parseJsonInput(nested(64), "x.json", core::kConfigJsonLimits);
        QVERIFY(j.is_array());
        QCOMPARE(errorOf([] { (void)core::parseJsonInput(nested(65), "x.json", core::kConfigJsonLimits); }),
                 std::string("x.json: JSON nested deeper than 64 levels"));
        // Objects count as levels too, mixed with arrays.
        std::string mixed;
        for (int i = 0; i < 65; ++i) mixed += i % 2 ? "[" : "{\"k\":";
        QVERIFY(errorOf([&] { (void)core::parseOrderedJsonInput(mixed, "y.json", core::kPlanJsonLimits); }).find("nested deeper") !=
                std::string::npos);
    }

    void aSyntaxErrorIsLeftToTheReader() {
        QVERIFY_THROWS_EXCEPTION(nlohmann::json::parse_error, (void)core::parseJsonInput("{\"a\": ", "x.json", core::kConfigJsonLimits));
    }

    void textLargerThanItsKindsBoundIsRefused() {
        const core::JsonInputLimits small{"a test file", 16};
        QCOMPARE(errorOf([&] { (void)core::parseJsonInput("[1, 2, 3, 4, 5, 6, 7]", "t.json", small); }),
                 std::string("t.json: 21 bytes, more than the 16 quantbench reads for a test file"));
        const fs::path file = test::freshScratchDir("json_input_size") / "t.json";
        write(file, "[1, 2, 3, 4, 5, 6, 7]");
        QCOMPARE(errorOf([&] { (void)core::readJsonInputText(file, small); }),
                 file.string() + ": 21 bytes, more than the 16 quantbench reads for a test file");
    }

    void aConfigJsonLargerThan16MiBIsRefusedBeforeParsing() {
        const fs::path dir = test::freshScratchDir("json_input_big_config");
        std::string text = readAll(test::bundledModelDir() / "config.json");
        text.insert(text.find('{') + 1, "\"padding\": \"" + std::string(std::size_t(16) << 20, 'x') + "\", ");
        write(dir / "config.json", text);
        const std::string e = errorOf([&] { (void)core::ModelConfig::fromFile(dir / "config.json"); });
        QCOMPARE(e, (dir / "config.json").string() + ": " + std::to_string(text.size()) + " bytes, more than the 16777216 quantbench reads for a config.json");
    }

    void aDeeplyNestedConfigJsonIsRefused() {
        const fs::path dir = test::freshScratchDir("json_input_config");
        write(dir / "config.json", configWithNesting(64));  // the document's object is one more level
        QCOMPARE(errorOf([&] { (void)core::ModelConfig::fromFile(dir / "config.json"); }), tooDeep(dir / "config.json"));
        write(dir / "config.json", configWithNesting(63));
        QCOMPARE(core::ModelConfig::fromFile(dir / "config.json").hiddenSize, 64);
    }

    void aDeeplyNestedSafetensorsIndexIsRefused() {
        const fs::path dir = test::freshScratchDir("json_input_index");
        fs::copy_file(test::bundledModelDir() / "config.json", dir / "config.json");
        write(dir / "model.safetensors.index.json", "{\"weight_map\": {}, \"metadata\": " + nested(64) + "}");
        QCOMPARE(errorOf([&] { (void)core::Checkpoint::open(dir); }), tooDeep(dir / "model.safetensors.index.json"));
    }

    void aDeeplyNestedSafetensorsHeaderIsRefused() {
        const fs::path file = test::freshScratchDir("json_input_header") / "model.safetensors";
        const std::string header = "{\"__metadata__\": {\"a\": " + nested(63) + "}}";
        const std::uint64_t length = header.size();
        std::ofstream out(file, std::ios::binary);
        out.write(reinterpret_cast<const char*>(&length), 8);
        out << header;
        out.close();
        QCOMPARE(errorOf([&] { (void)core::SafetensorsFile::open(file); }), tooDeep(file));
    }

    void aDeeplyNestedTokenizerJsonIsRefused() {
        const fs::path dir = test::freshScratchDir("json_input_tokenizer");
        write(dir / "tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": " + nested(63) + "}}");
        QCOMPARE(errorOf([&] { (void)core::text::HfTokenizer::load(dir); }), tooDeep(dir / "tokenizer.json"));
    }

    void aDeeplyNestedPlanIsRefused() {
        const fs::path file = test::freshScratchDir("json_input_plan") / "plan.json";
        write(file, "{\"default\": {\"method\": \"rtn\", \"bits\": 4}, \"rules\": " + nested(64) + "}");
        QCOMPARE(errorOf([&] { (void)core::QuantPlan::fromFile(file); }), tooDeep(file));
    }

    // The real files: the bundled model's, and the five real tokenizers (scripts/fetch_tokenizers.sh)
    // whose deepest nesting is 7 levels (Llama 3.1's tokenizer.json) and largest size 11.4 MB (Qwen3's).
    void theRealFilesParseWithinTheBounds() {
        QVERIFY(core::readJsonFile(test::bundledModelDir() / "config.json", core::kConfigJsonLimits).is_object());
        QVERIFY(core::readJsonFile(test::bundledModelDir() / "tokenizer_config.json", core::kTokenizerConfigLimits).is_object());
        const fs::path tokenizers = QB_TOKENIZERS_DIR;
        int checked = 0;
        for (const char* name : {"llama2", "llama3", "llama3_1", "qwen2_5", "qwen3"}) {
            const fs::path dir = tokenizers / name;
            QVERIFY2(fs::exists(dir / "tokenizer.json"), "run scripts/fetch_tokenizers.sh");
            QVERIFY(core::readJsonFile(dir / "tokenizer.json", core::kTokenizerJsonLimits).contains("model"));
            QVERIFY(core::readJsonFile(dir / "tokenizer_config.json", core::kTokenizerConfigLimits).is_object());
            ++checked;
        }
        QCOMPARE(checked, 5);
    }
};

QTEST_GUILESS_MAIN(TestJsonInput)
#include "test_json_input.moc"

// Small hand-made tokenizer.json files: the components the real files do not exercise
// (Metaspace, unk/fuse_unk, lstrip/rstrip/single_word, ByteLevel with its regex) and the
// error paths, each naming the file and the unsupported or malformed part.
#include <QtTest>

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using nlohmann::json;

namespace {

const std::string kMeta = "\xE2\x96\x81";  // ▁

// A SentencePiece-style BPE: vocabulary ▁ a b c ▁a ▁b ab <unk> <s> </s> <0x63>.
json metaspaceTokenizer(const std::string& prependScheme) {
    return {
        {"version", "1.0"},
        {"added_tokens", json::array({{{"id", 8}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
                                      {{"id", 9}, {"content", "</s>"}, {"special", true}, {"normalized", false}}})},
        {"normalizer", nullptr},
        {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", prependScheme}, {"split", true}}},
        {"post_processor", nullptr},
        {"decoder", {{"type", "Metaspace"}, {"replacement", kMeta}, {"prepend_scheme", prependScheme}, {"split", true}}},
        {"model",
         {{"type", "BPE"},
          {"unk_token", "<unk>"},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"vocab", {{kMeta, 0}, {"a", 1}, {"b", 2}, {"c", 3}, {kMeta + "a", 4}, {kMeta + "b", 5}, {"ab", 6}, {"<unk>", 7},
                     {"<s>", 8}, {"</s>", 9}, {"<0x78>", 10}}},
          {"merges", json::array({kMeta + " a", kMeta + " b", "a b"})}}},
    };
}

// A byte-level BPE over a few bytes: Ġ a b Ġa ab Ġab (Ġ = space).
json byteLevelTokenizer() {
    const std::string g = "\xC4\xA0";
    return {
        {"added_tokens", json::array()},
        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model",
         {{"type", "BPE"},
          {"vocab", {{g, 0}, {"a", 1}, {"b", 2}, {g + "a", 3}, {"ab", 4}, {g + "ab", 5}}},
          {"merges", json::array({json::array({g, "a"}), json::array({g + "a", "b"}), json::array({"a", "b"})})}}},
    };
}

std::filesystem::path writeTokenizer(const std::string& tag, const json& tokenizer, const json& config = nullptr) {
    const auto dir = test::freshScratchDir(tag);
    std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
    if (!config.is_null()) std::ofstream(dir / "tokenizer_config.json") << config.dump();
    return dir;
}

// The message of the Error that loading dir throws ("" when it loads).
std::string loadError(const std::filesystem::path& dir) {
    try {
        (void)core::Tokenizer::load(dir);
    } catch (const core::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

class TestTokenizerJson : public QObject {
    Q_OBJECT
private slots:
    void metaspacePrependsPerScheme_data() {
        QTest::addColumn<QString>("scheme");
        QTest::addColumn<std::vector<int>>("plain");
        QTest::addColumn<std::vector<int>>("afterSpecial");
        QTest::newRow("first") << "first" << std::vector<int>{4, 5} << std::vector<int>{8, 1, 5};
        QTest::newRow("always") << "always" << std::vector<int>{4, 5} << std::vector<int>{8, 4, 5};
        QTest::newRow("never") << "never" << std::vector<int>{1, 5} << std::vector<int>{8, 1, 5};
    }
    void metaspacePrependsPerScheme() {
        QFETCH(QString, scheme);
        QFETCH(std::vector<int>, plain);
        QFETCH(std::vector<int>, afterSpecial);
        const auto t = core::Tokenizer::load(writeTokenizer("tokjson-meta-" + scheme.toStdString(), metaspaceTokenizer(scheme.toStdString())));
        QCOMPARE(t->encode("a b"), plain);
        QCOMPARE(t->encode("<s>a b"), afterSpecial);
        QCOMPARE(t->decode(plain), std::string("a b"));
        QCOMPARE(t->kindLabel(), std::string("tokenizer.json BPE, SentencePiece-style"));
    }

    void unknownCharactersBecomeUnkFusedOrNot() {
        auto spec = metaspaceTokenizer("never");
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-unk", spec))->encode("azzb"), (std::vector<int>{1, 7, 7, 2}));
        spec["model"]["fuse_unk"] = true;
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-fuse", spec))->encode("azzb"), (std::vector<int>{1, 7, 2}));
        spec["model"]["byte_fallback"] = true;  // "x" has <0x78>, "z" has no byte token → unk
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-fallback", spec))->encode("axzb"), (std::vector<int>{1, 10, 7, 2}));
    }

    void ignoreMergesTakesWholeWords() {
        auto spec = metaspaceTokenizer("never");
        spec["model"]["merges"] = json::array({"a b"});
        spec["model"]["vocab"]["ba"] = 11;
        spec["model"]["vocab"]["bab"] = 12;
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-merges", spec))->encode("bab"), (std::vector<int>{2, 6}));
        spec["model"]["ignore_merges"] = true;
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-ignore", spec))->encode("bab"), (std::vector<int>{12}));
    }

    // Llama 2's export: no pre-tokenizer, the whole text is one word. The model encodes it in
    // stretches split before each "▁" unless a token holds "▁" after another character.
    void wholeTextWordsSplitBeforeMetaspaceOnlyWhenExact() {
        auto spec = metaspaceTokenizer("never");
        spec["pre_tokenizer"] = nullptr;
        spec["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMeta}};
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-wholesplit", spec))->encode("a b a"), (std::vector<int>{1, 5, 4}));
        spec["model"]["vocab"][std::string("a") + kMeta] = 11;
        spec["model"]["merges"].insert(spec["model"]["merges"].begin(), std::string("a ") + kMeta);
        QCOMPARE(core::Tokenizer::load(writeTokenizer("tokjson-wholenosplit", spec))->encode("a b a"), (std::vector<int>{11, 2, 4}));
    }

    void addedTokenFlagsAreHonoured() {
        auto spec = metaspaceTokenizer("never");
        spec["added_tokens"].push_back({{"id", 20}, {"content", "<m>"}, {"special", true}, {"lstrip", true}, {"rstrip", true}, {"normalized", false}});
        spec["added_tokens"].push_back({{"id", 21}, {"content", "ab"}, {"special", false}, {"single_word", true}, {"normalized", false}});
        const auto t = core::Tokenizer::load(writeTokenizer("tokjson-added", spec));
        QCOMPARE(t->encode("a  <m>  b"), (std::vector<int>{1, 20, 2}));  // lstrip/rstrip take the spaces
        QCOMPARE(t->encode("ab"), std::vector<int>{21});                // single word: matched
        QCOMPARE(t->encode("cab"), (std::vector<int>{3, 6}));           // inside a word: not matched
        QCOMPARE(t->vocabSize(), 22);
        QCOMPARE(t->decode({20}), std::string("<m>"));
    }

    void byteLevelSplitsAndPrefixesSpace() {
        const auto t = core::Tokenizer::load(writeTokenizer("tokjson-bytelevel", byteLevelTokenizer()));
        QCOMPARE(t->encode("ab ab"), (std::vector<int>{5, 5}));  // add_prefix_space → " ab", " ab"
        QCOMPARE(t->decode({5, 5}), std::string(" ab ab"));
        QCOMPARE(t->pieceBytes(5), std::string(" ab"));
        QCOMPARE(t->kindLabel(), std::string("tokenizer.json BPE, byte-level"));
    }

    void configDecidesBosAndNamesTokens() {
        auto spec = metaspaceTokenizer("first");
        spec["post_processor"] = {{"type", "TemplateProcessing"},
                                  {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
                                  {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {8}}, {"tokens", {"<s>"}}}}}}};
        const auto fromTemplate = core::Tokenizer::load(writeTokenizer("tokjson-template", spec));
        QVERIFY(fromTemplate->addsBos());
        QCOMPARE(fromTemplate->bos(), std::optional<int>(8));
        QCOMPARE(fromTemplate->eos(), std::nullopt);
        const json config = {{"add_bos_token", false}, {"bos_token", {{"content", "<s>"}, {"lstrip", false}}}, {"eos_token", "</s>"}};
        const auto fromConfig = core::Tokenizer::load(writeTokenizer("tokjson-config", spec, config));
        QVERIFY(!fromConfig->addsBos());
        QCOMPARE(fromConfig->bos(), std::optional<int>(8));
        QCOMPARE(fromConfig->eos(), std::optional<int>(9));
    }

    void tokenizerJsonWinsOverTokenizerModel() {
        const auto dir = writeTokenizer("tokjson-both", metaspaceTokenizer("first"));
        std::filesystem::copy_file(test::bundledModelDir() / "tokenizer.model", dir / "tokenizer.model");
        QCOMPARE(core::Tokenizer::load(dir)->kindLabel(), std::string("tokenizer.json BPE, SentencePiece-style"));
        QCOMPARE(core::Tokenizer::load(test::bundledModelDir())->kindLabel(), std::string("tokenizer.model SentencePiece"));
        QVERIFY(core::Tokenizer::load(test::bundledModelDir())->addsBos());
    }

    void errorsNameTheFileAndThePart_data() {
        QTest::addColumn<QString>("part");
        QTest::addColumn<QString>("value");  // JSON replacing that part
        QTest::addColumn<QString>("message");
        QTest::newRow("model type") << "model/type" << "\"WordPiece\"" << "tokenizer.json: model type 'WordPiece' is not supported";
        QTest::newRow("merge without space") << "model/merges" << "[\"ab\"]"
                                             << "tokenizer.json: model merges[0] \"ab\" is not two tokens separated by one space";
        QTest::newRow("merge not a pair") << "model/merges" << "[[\"a\", \"b\", \"c\"]]"
                                          << "tokenizer.json: model merges[0] is neither \"a b\" nor [\"a\", \"b\"]";
        QTest::newRow("merge outside vocab") << "model/merges" << "[\"a q\"]"
                                             << "tokenizer.json: model merges[0]: \"q\" is not in the vocabulary";
        QTest::newRow("merged token outside vocab") << "model/merges" << "[\"b a\"]"
                                                    << "tokenizer.json: model merges[0]: the merged token \"ba\" is not in the vocabulary";
        QTest::newRow("pre_tokenizer type") << "pre_tokenizer" << "{\"type\": \"Whitespace\"}"
                                            << "tokenizer.json: pre_tokenizer type 'Whitespace' is not supported";
        QTest::newRow("normalizer type") << "normalizer" << "{\"type\": \"BertNormalizer\"}"
                                         << "tokenizer.json: normalizer type 'BertNormalizer' is not supported";
        QTest::newRow("decoder type") << "decoder" << "{\"type\": \"WordPiece\"}" << "tokenizer.json: decoder type 'WordPiece' is not supported";
        QTest::newRow("post_processor type") << "post_processor" << "{\"type\": \"RobertaProcessing\"}"
                                             << "tokenizer.json: post_processor type 'RobertaProcessing' is not supported";
        QTest::newRow("bad regex") << "pre_tokenizer" << "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a\"}, \"behavior\": \"Isolated\"}"
                                   << "tokenizer.json: regex '(a': missing closing parenthesis";
        QTest::newRow("unk outside vocab") << "model/unk_token" << "\"<nope>\""
                                           << "tokenizer.json: model unk_token \"<nope>\" is not in the vocabulary";
    }
    void errorsNameTheFileAndThePart() {
        QFETCH(QString, part);
        QFETCH(QString, value);
        QFETCH(QString, message);
        auto spec = metaspaceTokenizer("first");
        spec[json::json_pointer(QString("/" + part).toStdString())] = json::parse(value.toStdString());
        const std::string error = loadError(writeTokenizer("tokjson-error", spec));
        QVERIFY2(error.find(message.toStdString()) != std::string::npos, error.c_str());
    }

    void unreadableFilesAreErrors() {
        const auto dir = test::freshScratchDir("tokjson-garbage");
        std::ofstream(dir / "tokenizer.json") << "{ not json";
        QVERIFY2(loadError(dir).find("tokjson-garbage/tokenizer.json: not valid JSON") != std::string::npos, loadError(dir).c_str());
        const auto empty = test::freshScratchDir("tokjson-none");
        QCOMPARE(loadError(empty), (empty / "tokenizer.json").string() + ": missing, and so is tokenizer.model (the folder needs one of them)");
        const auto badConfig = writeTokenizer("tokjson-badconfig", metaspaceTokenizer("first"), {{"bos_token", "<nope>"}});
        QVERIFY2(loadError(badConfig).find("tokenizer_config.json: bos_token '<nope>' is not in the vocabulary") != std::string::npos,
                 loadError(badConfig).c_str());
    }
};

QTEST_APPLESS_MAIN(TestTokenizerJson)
#include "test_tokenizer_json.moc"

// The bundled SentencePiece tokenizer through core::Tokenizer.
#include <QtTest>

#include <fstream>

#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;

class TestTokenizer : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<const core::Tokenizer> m_tok;

private slots:
    void initTestCase() { m_tok = core::Tokenizer::load(test::bundledModelDir()); }

    void encodesTheKnownSentence() {
        QCOMPARE(m_tok->encode("Once upon a time"), (std::vector<int>{403, 407, 261, 378}));
    }
    void encodeAddsNoBosOrEos() {
        const auto ids = m_tok->encode("Lily");
        QVERIFY(!ids.empty());
        QVERIFY(ids.front() != 1);
        QVERIFY(ids.back() != 2);
    }
    void specialIdsComeFromTheModel() {
        QCOMPARE(m_tok->vocabSize(), 512);
        QCOMPARE(m_tok->bos(), std::optional<int>(1));
        QCOMPARE(m_tok->eos(), std::optional<int>(2));
        QCOMPARE(m_tok->piece(1), std::string("<s>"));
        QCOMPARE(m_tok->piece(2), std::string("</s>"));
        QCOMPARE(m_tok->piece(0), std::string("<unk>"));
    }
    void configIdsOverrideTheModel() {
        const auto t = core::Tokenizer::load(test::bundledModelDir(), 2, 1);
        QCOMPARE(t->bos(), std::optional<int>(2));
        QCOMPARE(t->eos(), std::optional<int>(1));
    }
    void decodeInvertsEncode_data() {
        QTest::addColumn<QString>("text");
        QTest::newRow("story") << "Once upon a time, there was a little girl named Lily.";
        QTest::newRow("dialogue") << "\"Wow, Kitty, your car is so bright!\" Spot said.";
        QTest::newRow("bytes beyond the vocabulary") << QString::fromUtf8("café ☕ 42");
    }
    void decodeInvertsEncode() {
        QFETCH(QString, text);
        const std::string s = text.toStdString();
        QCOMPARE(m_tok->decode(m_tok->encode(s)), s);
    }
    void decodeDropsBos() { QCOMPARE(m_tok->decode({1, 403, 407, 261, 378}), std::string("Once upon a time")); }
    void aFolderWithoutTokenizerIsAnError() {
        const auto dir = test::freshScratchDir("tok-missing");
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::Tokenizer::load(dir));
    }
    void aFileThatIsNotSentencePieceIsAnError() {
        const auto dir = test::freshScratchDir("tok-garbage");
        std::ofstream(dir / "tokenizer.model") << "not a protobuf";
        try {
            (void)core::Tokenizer::load(dir);
            QFAIL("garbage loaded as a tokenizer");
        } catch (const core::Error& e) {
            QVERIFY(std::string(e.what()).find("tok-garbage/tokenizer.model: not a SentencePiece model") != std::string::npos);
        }
    }
};

QTEST_APPLESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"

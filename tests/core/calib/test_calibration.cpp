// Calibration text → documents → token stream → seeded random windows.
#include <QtTest>

#include <algorithm>
#include <fstream>

#include <numeric>

#include "core/calib/calibration.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;

namespace {

const char* kTinyText =
    "Once upon a time.\n"
    "<|endoftext|>\n"
    "\n"
    "  Two\r\n"
    "lines  \n"
    "<|endoftext|>\r\n"
    "   \n"
    "<|endoftext|>\n"
    "Three";

// 0, 1, 2, ..., n-1: every window of it is an arithmetic run, which makes bounds easy to check.
std::vector<int> iota(int n) {
    std::vector<int> v(std::size_t(n), 0);
    std::iota(v.begin(), v.end(), 0);
    return v;
}

}  // namespace

class TestCalibration : public QObject {
    Q_OBJECT
private slots:
    void splitDocumentsSplitsOnEndOfTextLinesAndStrips() {
        QCOMPARE(core::splitDocuments(kTinyText), (std::vector<std::string>{"Once upon a time.", "Two\nlines", "Three"}));
    }
    void plainTextIsOneDocument() {
        QCOMPARE(core::splitDocuments("  just one story\nwith two lines\n"),
                 (std::vector<std::string>{"just one story\nwith two lines"}));
        QCOMPARE(core::splitDocuments("a <|endoftext|> inside a line"), (std::vector<std::string>{"a <|endoftext|> inside a line"}));
    }
    void encodeDocumentsPutsBosBeforeEachStory() {
        const auto tok = core::Tokenizer::load(test::bundledModelDir(), 1, 2);
        const auto ids = core::encodeDocuments(*tok, "Once upon a time\n<|endoftext|>\nOnce upon a time\n<|endoftext|>\n");
        QCOMPARE(ids, (std::vector<int>{1, 403, 407, 261, 378, 1, 403, 407, 261, 378}));
    }
    void evalTextHas400Stories() {
        const std::string text = core::readTextFile(test::bundledText("eval.txt"));
        QCOMPARE(core::splitDocuments(text).size(), std::size_t(400));
        const auto tok = core::Tokenizer::load(test::bundledModelDir(), 1, 2);
        const auto ids = core::encodeDocuments(*tok, text);
        QCOMPARE(std::count(ids.begin(), ids.end(), 1), std::ptrdiff_t(400));
        QCOMPARE(ids.size() / 512, std::size_t(312));  // 312 windows of 512: 159,432 predictions
    }
    void readTextFileNamesAMissingOrEmptyFile() {
        const auto dir = test::freshScratchDir("calib-read");
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::readTextFile(dir / "absent.txt"));
        std::ofstream(dir / "blank.txt") << " \n\t\n";
        try {
            (void)core::readTextFile(dir / "blank.txt");
            QFAIL("a blank file was read");
        } catch (const core::Error& e) {
            QVERIFY(std::string(e.what()).find("blank.txt: is empty") != std::string::npos);
        }
    }
    void sameSeedSameWindows() {
        const auto stream = iota(10000);
        const core::CalibrationOptions options{.windows = 16, .ctx = 128, .seed = 7};
        const auto a = core::sampleCalibration(stream, options);
        const auto b = core::sampleCalibration(stream, options);
        QCOMPARE(a.tokens, b.tokens);
        QCOMPARE(a.windows, 16);
        QCOMPARE(a.ctx, 128);
        QCOMPARE(a.tokens.size(), std::size_t(16 * 128));
        QVERIFY(!a.shortened);
        QVERIFY(a.note.empty());
    }
    void otherSeedOtherWindows() {
        const auto stream = iota(10000);
        const auto a = core::sampleCalibration(stream, {.windows = 16, .ctx = 128, .seed = 7});
        const auto b = core::sampleCalibration(stream, {.windows = 16, .ctx = 128, .seed = 8});
        QVERIFY(a.tokens != b.tokens);
    }
    void everyWindowIsAContiguousSliceInsideTheStream() {
        const auto stream = iota(1000);
        for (std::uint64_t seed = 0; seed < 20; ++seed) {
            const auto set = core::sampleCalibration(stream, {.windows = 8, .ctx = 100, .seed = seed});
            for (int w = 0; w < set.windows; ++w) {
                const int first = set.tokens[std::size_t(w * set.ctx)];
                QVERIFY(first >= 0 && first <= 1000 - 100);
                for (int i = 1; i < set.ctx; ++i) QCOMPARE(set.tokens[std::size_t(w * set.ctx + i)], first + i);
            }
        }
    }
    void aStreamShorterThanOneWindowGivesOneShortWindowAndANote() {
        const auto set = core::sampleCalibration(iota(100), {.windows = 128, .ctx = 512, .seed = 0});
        QCOMPARE(set.windows, 1);
        QCOMPARE(set.ctx, 100);
        QCOMPARE(set.tokens, iota(100));
        QVERIFY(set.shortened);
        QCOMPARE(set.note, std::string("calibration text holds only 100 tokens: using 1 window of 100 tokens instead of 128 × 512"));
    }
    void aStreamShorterThanAllWindowsOverlapsThemAndSaysSo() {
        const auto set = core::sampleCalibration(iota(1000), {.windows = 4, .ctx = 512, .seed = 0});
        QCOMPARE(set.windows, 4);
        QCOMPARE(set.ctx, 512);
        QVERIFY(set.shortened);
        QCOMPARE(set.note, std::string("calibration text holds 1000 tokens, fewer than 4 × 512: the random windows overlap"));
    }
    void nonsenseOptionsAreErrors() {
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::sampleCalibration(iota(1000), {.windows = 0, .ctx = 16, .seed = 0}));
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::sampleCalibration(iota(1000), {.windows = 4, .ctx = 1, .seed = 0}));
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::sampleCalibration(iota(1), {.windows = 4, .ctx = 16, .seed = 0}));
    }
};

QTEST_APPLESS_MAIN(TestCalibration)
#include "test_calibration.moc"

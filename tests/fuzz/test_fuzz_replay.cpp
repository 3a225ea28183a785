// Replays every input of tests/fuzz/corpus/<target>/ and tests/fuzz/regressions/<target>/
// through the fuzz targets' own parse functions (linked in with QB_FUZZ_REPLAY), in the
// regular build: each must load or be refused with qb::core::Error — any other exception
// fails the row, a crash fails the test. This is what guards the fuzzers' findings in CI
// without clang or libFuzzer.
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/util/error.h"
#include "tests/fuzz/fuzz_support.h"

namespace fs = std::filesystem;

namespace {
const QStringList kTargets = {"safetensors", "model_config", "checkpoint_index", "hf_tokenizer", "plan",
                              "session_store", "quantized_checkpoint", "gguf_reader", "exported_folder"};
const fs::path kFuzzDir = fs::path(QB_SOURCE_DIR) / "tests/fuzz";

std::vector<fs::path> inputsOf(const std::string& target, const char* kind) {
    std::vector<fs::path> files;
    const fs::path dir = kFuzzDir / kind / target;
    if (fs::is_directory(dir))
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}
}  // namespace

class TestFuzzReplay : public QObject {
    Q_OBJECT
private slots:
    // Every target is linked in and has seeds; a target without them replays nothing.
    void everyTargetHasSeeds() {
        for (const QString& t : kTargets) {
            QVERIFY2(qb::fuzz::registry().count(t.toStdString()) == 1, qPrintable(t));
            QVERIFY2(!inputsOf(t.toStdString(), "corpus").empty(), qPrintable(t + ": empty corpus"));
        }
        QCOMPARE(qb::fuzz::registry().size(), std::size_t(kTargets.size()));
    }

    void replay_data() {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("file");
        for (const QString& t : kTargets)
            for (const char* kind : {"corpus", "regressions"})
                for (const fs::path& f : inputsOf(t.toStdString(), kind))
                    QTest::newRow(qPrintable(t + "/" + kind + "/" + QString::fromStdString(f.filename().string())))
                        << t << QString::fromStdString(f.string());
    }
    void replay() {
        QFETCH(QString, target);
        QFETCH(QString, file);
        std::ifstream in(file.toStdString(), std::ios::binary);
        QVERIFY(in);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        try {
            qb::fuzz::registry().at(target.toStdString())(bytes.str());
        } catch (const qb::core::Error& e) {
            qInfo("refused: %s", e.what());  // fine; a seed that is refused covers little, so say so
        } catch (const std::exception& e) {
            QFAIL(qPrintable(QString("not a qb::core::Error: ") + e.what()));
        }
    }
};

QTEST_GUILESS_MAIN(TestFuzzReplay)
#include "test_fuzz_replay.moc"

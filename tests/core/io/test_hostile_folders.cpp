// Hostile model folders (issue 17): a downloaded folder must not make quantbench read files
// outside it or unpickle anything. Shard names that are not plain file names, links that
// leave the folder and pickle checkpoints are each refused with one Error naming the file;
// links inside the folder and the Hugging Face hub cache's snapshot → blobs links still load.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

// config.json and model.safetensors of the bundled model, copied into dir.
void copyBundled(const fs::path& dir) {
    fs::create_directories(dir);
    fs::copy_file(test::bundledModelDir() / "config.json", dir / "config.json");
    fs::copy_file(test::bundledModelDir() / "model.safetensors", dir / "model.safetensors");
}

// The Error message of opening dir, or "<opened>".
std::string openFailure(const fs::path& dir) {
    try {
        (void)core::Checkpoint::open(dir);
        return "<opened>";
    } catch (const core::Error& e) {
        return e.what();
    }
}

// An index whose one entry names shardName (a JSON string: backslashes escaped).
void writeIndex(const fs::path& dir, const std::string& shardName) {
    std::string quoted = "\"";
    for (char ch : shardName) quoted += ch == '\\' ? std::string("\\\\") : std::string(1, ch);
    quoted += "\"";
    std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata": {}, "weight_map": {"model.norm.weight": )" << quoted << "}}";
}

}  // namespace

class TestHostileFolders : public QObject {
    Q_OBJECT
private slots:
    void aShardLinkedOutsideTheFolderIsRefused() {
        const fs::path root = test::freshScratchDir("hostile-link-out");
        copyBundled(root / "model");
        fs::create_directories(root / "elsewhere");
        fs::rename(root / "model" / "model.safetensors", root / "elsewhere" / "model.safetensors");
        fs::create_symlink("../elsewhere/model.safetensors", root / "model" / "model.safetensors");
        const std::string m = openFailure(root / "model");
        QVERIFY2(m.find("/model/model.safetensors: a link to ") != std::string::npos, m.c_str());
        QVERIFY2(m.find("elsewhere/model.safetensors, outside the model folder") != std::string::npos, m.c_str());
    }

    void aShardLinkedInsideTheFolderLoads() {
        const fs::path dir = test::freshScratchDir("hostile-link-in") / "model";
        copyBundled(dir);
        fs::create_directories(dir / "weights");
        fs::rename(dir / "model.safetensors", dir / "weights" / "model.safetensors");
        fs::create_symlink("weights/model.safetensors", dir / "model.safetensors");
        QCOMPARE(openFailure(dir), std::string("<opened>"));
    }

    void aHubCacheSnapshotLinkingIntoBlobsLoads() {
        // ~/.cache/huggingface/hub/models--org--name/snapshots/<rev>/model.safetensors -> ../../blobs/<sha>
        const fs::path repo = test::freshScratchDir("hostile-hub") / "models--org--tiny";
        const fs::path snap = repo / "snapshots" / "0123abcd";
        fs::create_directories(repo / "blobs");
        fs::create_directories(snap);
        fs::copy_file(test::bundledModelDir() / "model.safetensors", repo / "blobs" / "5f3a");
        fs::copy_file(test::bundledModelDir() / "config.json", snap / "config.json");
        fs::create_symlink("../../blobs/5f3a", snap / "model.safetensors");
        QCOMPARE(openFailure(snap), std::string("<opened>"));
    }

    void aSnapshotLinkLeavingTheHubRepositoryIsRefused() {
        const fs::path root = test::freshScratchDir("hostile-hub-out");
        const fs::path snap = root / "models--org--tiny" / "snapshots" / "0123abcd";
        fs::create_directories(snap);
        fs::copy_file(test::bundledModelDir() / "model.safetensors", root / "stolen.safetensors");
        fs::copy_file(test::bundledModelDir() / "config.json", snap / "config.json");
        fs::create_symlink("../../../stolen.safetensors", snap / "model.safetensors");
        const std::string m = openFailure(snap);
        QVERIFY2(m.find("stolen.safetensors, outside the model folder") != std::string::npos, m.c_str());
    }

    void indexShardNamesThatAreNotPlainFileNamesAreRefused_data() {
        QTest::addColumn<QString>("shard");
        QTest::newRow("parent") << "../model.safetensors";
        QTest::newRow("dot-dot") << "..";
        QTest::newRow("absolute") << "/etc/passwd";
        QTest::newRow("subfolder") << "sub/model.safetensors";
        QTest::newRow("backslash") << "..\\model.safetensors";
        QTest::newRow("empty") << "";
    }
    void indexShardNamesThatAreNotPlainFileNamesAreRefused() {
        QFETCH(QString, shard);
        const fs::path dir = test::freshScratchDir("hostile-index") / "model";
        copyBundled(dir);
        writeIndex(dir, shard.toStdString());
        const std::string m = openFailure(dir);
        QVERIFY2(m.find("model.safetensors.index.json: shard name '" + shard.toStdString() + "' must be a plain file name") != std::string::npos,
                 m.c_str());
    }

    void anIndexShardLinkedOutsideTheFolderIsRefused() {
        const fs::path root = test::freshScratchDir("hostile-index-link");
        copyBundled(root / "model");
        fs::rename(root / "model" / "model.safetensors", root / "outside.safetensors");
        fs::create_symlink("../outside.safetensors", root / "model" / "model-00001-of-00001.safetensors");
        writeIndex(root / "model", "model-00001-of-00001.safetensors");
        const std::string m = openFailure(root / "model");
        QVERIFY2(m.find("model-00001-of-00001.safetensors: a link to ") != std::string::npos, m.c_str());
        QVERIFY2(m.find("outside.safetensors, outside the model folder") != std::string::npos, m.c_str());
    }

    void aPickleCheckpointIsRefusedAndNeverRead() {
        const fs::path dir = test::freshScratchDir("hostile-pickle") / "model";
        fs::create_directories(dir);
        fs::copy_file(test::bundledModelDir() / "config.json", dir / "config.json");
        // Not even a valid pickle: the refusal must come from the name, before any byte is read.
        std::ofstream(dir / "pytorch_model.bin") << "\x80\x02 cos\nsystem\n";
        const std::string m = openFailure(dir);
        QVERIFY2(m.find("pytorch_model.bin: a PyTorch pickle checkpoint, which quantbench never loads") != std::string::npos, m.c_str());
        QVERIFY2(m.find("convert the folder to safetensors") != std::string::npos, m.c_str());
    }
};

QTEST_APPLESS_MAIN(TestHostileFolders)
#include "test_hostile_folders.moc"

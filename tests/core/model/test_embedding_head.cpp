// EmbeddingHead (the output projection read in place from a 16-bit table) against the float32
// product with the converted table, and the 16-bit EmbeddingTable against its conversion; a head
// over a mapped table releases the pages it read.
#include <QtTest>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/checkpoint.h"
#include "core/io/safetensors_file.h"

#include "core/model/embedding_head.h"
#include "core/model/embedding_table.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "support/test_support.h"

using namespace qb;
using core::Index;
using core::MatrixRM;

namespace {

std::shared_ptr<const core::EmbeddingTable> halfTable(const MatrixRM& W, bool bf16) {
    std::vector<std::uint16_t> bits(std::size_t(W.size()));
    for (Index i = 0; i < W.size(); ++i) bits[std::size_t(i)] = bf16 ? core::floatToBf16(W.data()[i]) : core::floatToF16(W.data()[i]);
    return std::make_shared<core::EmbeddingTable>(std::move(bits), W.rows(), W.cols(), bf16);
}

// Resident kB of the mapping that holds address p (/proc/self/smaps), -1 when none does.
long residentKbOfMapping(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
            inside = lo <= a && a < hi;
        } else if (inside && line.rfind("Rss:", 0) == 0) {
            return std::stol(line.substr(4));
        }
    }
    return -1;
}

// A model folder holding one BF16 tensor "lm_head.weight" [rows, cols] (and the bundled config).
std::filesystem::path folderWithTable(const MatrixRM& W) {
    const auto dir = test::freshScratchDir("embedding_head_release");
    std::filesystem::copy_file(test::bundledModelDir() / "config.json", dir / "config.json");
    core::writeSafetensors(dir / "model.safetensors", {core::makeFloatBlob("lm_head.weight", {W.rows(), W.cols()}, W.data(), core::DType::BF16)});
    return dir;
}

}  // namespace

class TestEmbeddingHead : public QObject {
    Q_OBJECT
private slots:
    void headEqualsTheProductWithTheConvertedTable_data() {
        QTest::addColumn<bool>("bf16");
        QTest::newRow("f16") << false;
        QTest::newRow("bf16") << true;
    }
    void headEqualsTheProductWithTheConvertedTable() {
        QFETCH(bool, bf16);
        // 5000 vocabulary rows: several conversion blocks and a partial last one.
        const MatrixRM W = test::randomMatrix(5000, 96, 7, 0.05f);
        const MatrixRM X = test::randomMatrix(9, 96, 8);
        const auto table = halfTable(W, bf16);
        QCOMPARE(table->isBf16(), bf16);
        QCOMPARE(table->storageBytes(), std::size_t(5000 * 96 * 2));
        const core::EmbeddingHead head(table);
        MatrixRM Y;
        head.forward(X, Y);
        const MatrixRM E = table->dense();  // exact conversion of the 16-bit values
        const Eigen::MatrixXd ref = X.cast<double>() * E.cast<double>().transpose();
        QCOMPARE(Y.rows(), Index(9));
        QCOMPARE(Y.cols(), Index(5000));
        QVERIFY((Y.cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-5);
        // and the table really holds rounded values, not the float32 originals
        QVERIFY((E - W).cwiseAbs().maxCoeff() > 0.0f);
        QVERIFY((E - W).cwiseAbs().maxCoeff() < (bf16 ? 2e-3f : 1e-4f));
    }
    void float32TablesGetADenseHead() {
        const auto table = std::make_shared<core::EmbeddingTable>(test::randomMatrix(10, 4, 1));
        const auto head = core::makeEmbeddingHead(table);
        QCOMPARE(head->format(), std::string("f32"));
        QVERIFY_THROWS_EXCEPTION(core::Error, core::EmbeddingHead{table});
    }
    void aHeadBuiltWithItsCheckpointReleasesTheTablePagesItRead() {
        // 4096 × 512 BF16 values: 4 MiB, 1024 pages, two conversion blocks.
        const MatrixRM W = test::randomMatrix(4096, 512, 11, 0.05f);
        const MatrixRM X = test::randomMatrix(3, 512, 12);
        const auto ckpt = core::Checkpoint::open(folderWithTable(W));
        const auto table = core::EmbeddingTable::load(ckpt, "lm_head.weight", 4096, 512);
        const long tableKb = 4096 * 512 * 2 / 1024;

        const core::EmbeddingHead keeping(table);
        MatrixRM kept;
        keeping.forward(X, kept);
        QVERIFY(residentKbOfMapping(table->halfBits()) >= tableKb * 9 / 10);  // read, and left resident

        const core::EmbeddingHead releasing(table, ckpt, "lm_head.weight");
        MatrixRM Y;
        releasing.forward(X, Y);
        QVERIFY(residentKbOfMapping(table->halfBits()) <= tableKb / 20);  // at most a few boundary pages
        QVERIFY(Y == kept);  // the pages come back from the file when read again
        std::vector<float> rows(std::size_t(96 * 512));
        releasing.readRows(4000, 96, rows.data());
        QCOMPARE(rows[0], core::bf16ToFloat(core::floatToBf16(W(4000, 0))));
        QVERIFY(residentKbOfMapping(table->halfBits()) <= tableKb / 20);
    }
    void aTableReadInPlaceReleasesTheRowsItIsToldTo() {
        // What the checkpoint writer does block by block: read rows, then release them.
        const MatrixRM W = test::randomMatrix(4096, 512, 13, 0.05f);
        const auto ckpt = core::Checkpoint::open(folderWithTable(W));
        const auto table = core::EmbeddingTable::load(ckpt, "lm_head.weight", 4096, 512);
        const long tableKb = 4096 * 512 * 2 / 1024;
        std::vector<float> rows(std::size_t(4096 * 512));
        table->rows(0, 4096, rows.data());
        QVERIFY(residentKbOfMapping(table->halfBits()) >= tableKb * 9 / 10);
        table->releaseRows(0, 2048);
        const long half = residentKbOfMapping(table->halfBits());
        QVERIFY2(half <= tableKb / 2 + tableKb / 20 && half >= tableKb * 4 / 10, std::to_string(half).c_str());  // the other half stays
        table->releaseRows(2048, 2048);
        QVERIFY(residentKbOfMapping(table->halfBits()) <= tableKb / 20);
        float row[512];
        table->row(4000, row);  // read again from the file
        QCOMPARE(row[7], core::bf16ToFloat(core::floatToBf16(W(4000, 7))));
    }
};

QTEST_APPLESS_MAIN(TestEmbeddingHead)
#include "test_embedding_head.moc"

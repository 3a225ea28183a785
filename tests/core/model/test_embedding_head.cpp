// EmbeddingHead (the output projection read in place from a 16-bit table) against the float32
// product with the converted table, and the 16-bit EmbeddingTable against its conversion.
#include <QtTest>

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
};

QTEST_APPLESS_MAIN(TestEmbeddingHead)
#include "test_embedding_head.moc"

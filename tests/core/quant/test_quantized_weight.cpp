// QuantizedWeight (groups, dequantization, sizes) and the QuantizedLinear module.
#include <QtTest>

#include "core/quant/quantized_weight.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

class TestQuantizedWeight : public QObject {
    Q_OBJECT
private slots:
    void groupCountAllowsATrailingPartialGroup() {
        QCOMPARE(groupCount(172, 32), Index(6));
        QCOMPARE(groupCount(128, 32), Index(4));
        QCOMPARE(groupCount(172, std::nullopt), Index(1));
        const std::vector<std::int32_t> g = sequentialGroupIndex(172, 32);
        QCOMPARE(g[31], 0);
        QCOMPARE(g[32], 1);
        QCOMPARE(g[171], 5);
    }
    void dequantizeUsesTheGroupOfEachColumn() {
        QuantizedWeight Q = QuantizedWeight::allocate(1, 4, {4, 2, false});
        Q.codes << 0, 15, 3, 5;
        Q.scales << 0.5f, 2.0f;
        Q.zeros << 8, 3;
        Q.gIdx = {1, 0, 0, 1};  // an act-order style group index
        const MatrixRM W = Q.dequantize();
        QCOMPARE(W(0, 0), -6.0f);  // 2.0 · (0 − 3)
        QCOMPARE(W(0, 1), 3.5f);   // 0.5 · (15 − 8)
        QCOMPARE(W(0, 2), -2.5f);  // 0.5 · (3 − 8)
        QCOMPARE(W(0, 3), 4.0f);   // 2.0 · (5 − 3)
        QVERIFY(!Q.hasSequentialGroups());
    }
    void validateNamesTheInconsistency() {
        QuantizedWeight Q = QuantizedWeight::allocate(2, 8, {4, 4, false});
        Q.validate();
        Q.gIdx[3] = 2;  // only groups 0 and 1 exist
        QVERIFY_THROWS_EXCEPTION(Error, Q.validate());
        Q.gIdx[3] = 0;
        Q.codes(1, 1) = 16;  // above maxq = 15
        QVERIFY_THROWS_EXCEPTION(Error, Q.validate());
    }
    void packedBytesFollowTheGptqLayout() {
        // in = out = 172, 4 bits, g32 (6 groups): qweight 6·4·172·4 + qzeros 6·24·4 + scales 6·172·2 + g_idx 172·4.
        const QuantizedWeight Q = QuantizedWeight::allocate(172, 172, {4, 32, false});
        QCOMPARE(Q.packedBytes(), std::size_t(16512 + 576 + 2064 + 688));
        const QuantizedLinear L(Q, VectorF::Zero(172), "gptq");
        QCOMPARE(L.storageBytes(), std::size_t(19840 + 344));  // bias as F16
        QCOMPARE(L.format(), std::string("gptq int4 g32"));
        QCOMPARE(QuantizedLinear(QuantizedWeight::allocate(8, 64, {3, std::nullopt, true}), std::nullopt).format(),
                 std::string("int3 row sym"));
    }
    void quantizedLinearForwardUsesTheDequantizedWeight() {
        const MatrixRM W = test::randomMatrix(24, 40, 11);
        const MatrixRM X = test::randomMatrix(7, 40, 12);
        VectorF bias = VectorF::LinSpaced(24, -1.0f, 1.0f);
        const QuantizedWeight Q = quantizeRtn(W, {4, 16, false});
        const QuantizedLinear L(Q, bias, "rtn");
        MatrixRM Y;
        L.forward(X, Y);
        const MatrixRM ref = (X * Q.dequantize().transpose()).rowwise() + bias.transpose();
        QVERIFY((Y - ref).cwiseAbs().maxCoeff() < 1e-5f);
        QCOMPARE(L.denseWeight(), Q.dequantize());
        QVERIFY_THROWS_EXCEPTION(Error, L.forward(test::randomMatrix(2, 41, 1), Y));
        QVERIFY_THROWS_EXCEPTION(Error, QuantizedLinear(Q, VectorF::Zero(5)));
    }
    void aCalibrationBatchMultipliesDequantizedBlocksOfRows() {
        // From kBackendGemmRows rows the product runs on dequantized blocks of
        // kBackendGemmBlockRows output rows: 2,600 outputs make two full blocks and a partial
        // one, and an act-order permutation (a shuffled g_idx) must land each column in place.
        const Index out = 2 * QuantizedLinear::kBackendGemmBlockRows + 552, in = 96;
        const MatrixRM W = test::randomMatrix(out, in, 21);
        QuantizedWeight Q = quantizeRtn(W, {4, 32, false});
        for (Index c = 0; c < in; ++c) Q.gIdx[std::size_t(c)] = std::int32_t((c * 7) % 3);  // every group, shuffled
        const VectorF bias = VectorF::LinSpaced(out, -0.5f, 0.5f);
        const QuantizedLinear L(Q, bias, "gptq");
        const MatrixRM Wq = Q.dequantize();
        QCOMPARE(L.denseWeight(), Wq);  // dequantizeRows over all rows: the same values bit for bit
        MatrixRM block(40, in);
        L.packed().dequantizeRows(1000, 1040, block.data(), in);
        QCOMPARE(block, MatrixRM(Wq.middleRows(1000, 40)));

        const MatrixRM X = test::randomMatrix(QuantizedLinear::kBackendGemmRows + 3, in, 22);
        MatrixRM Y;
        L.forward(X, Y);
        const MatrixRMd ref = (X.cast<double>() * Wq.cast<double>().transpose()).rowwise() + bias.cast<double>().transpose();
        QCOMPARE(Y.rows(), X.rows());
        QCOMPARE(Y.cols(), out);
        QVERIFY((Y.cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-4);
        // The same rows through the small-batch kernels give the same outputs to float rounding.
        MatrixRM Ysmall;
        L.forward(X.topRows(300), Ysmall);
        QVERIFY((Ysmall - Y.topRows(300)).cwiseAbs().maxCoeff() < 1e-4f);
        QVERIFY_THROWS_EXCEPTION(Error, L.packed().dequantizeRows(0, out + 1, block.data(), in));
    }
};

QTEST_APPLESS_MAIN(TestQuantizedWeight)
#include "test_quantized_weight.moc"

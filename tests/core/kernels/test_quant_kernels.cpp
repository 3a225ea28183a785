// Packed low-bit kernels (core/kernels/quant_matmul.h) and QuantizedLinear: every format,
// odd shapes, trailing partial groups and act-order, against dequantize-then-multiply (in
// double) and scalar reference against AVX2.
#include <QtTest>

#include "core/kernels/quant_matmul.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"
#include "kernel_test_util.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;
using kernels::KernelPath;

Q_DECLARE_METATYPE(std::optional<int>)

namespace {

using test::packOf;

}  // namespace

template <int Bits>
void checkPieces() {
    constexpr kernels::StreamPieces<Bits> P = kernels::streamPieces<Bits>();
    std::vector<std::uint32_t> covered(32, 0);
    for (const kernels::StreamPiece& p : P.piece) {
        const int lowBit = p.exp2;  // bit of the value the piece starts at
        QCOMPARE(32 * p.word + p.off, p.input * Bits + lowBit);  // where the stream formula puts it
        QCOMPARE(int(p.shifted), int(p.off + p.width == 32));
        const std::uint32_t bits = ((1u << p.width) - 1u) << lowBit;
        QCOMPARE(covered[p.input] & bits, 0u);
        covered[p.input] |= bits;
    }
    for (int k = 0; k < 32; ++k) QCOMPARE(covered[k], (1u << Bits) - 1u);
}

class TestQuantKernels : public QObject {
    Q_OBJECT
private slots:
    void productsMatchDequantizeThenMultiply_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<std::optional<int>>("groupSize");
        QTest::addColumn<bool>("actOrder");
        for (int bits : {2, 3, 4, 5, 6, 7, 8}) {
            const QByteArray b = "int" + QByteArray::number(bits);
            QTest::newRow(b + " 1x1 row") << bits << 1 << 1 << std::optional<int>() << false;
            QTest::newRow(b + " 8x32 g32") << bits << 8 << 32 << std::optional<int>(32) << false;
            QTest::newRow(b + " 7x13 g32 (in < 32)") << bits << 7 << 13 << std::optional<int>(32) << false;
            QTest::newRow(b + " 17x172 g32 (trailing partial)") << bits << 17 << 172 << std::optional<int>(32) << false;
            QTest::newRow(b + " 33x300 g128") << bits << 33 << 300 << std::optional<int>(128) << false;
            QTest::newRow(b + " 24x200 g48 (group not x32)") << bits << 24 << 200 << std::optional<int>(48) << false;
            QTest::newRow(b + " 9x77 row") << bits << 9 << 77 << std::optional<int>() << false;
            QTest::newRow(b + " 40x256 g64 act-order") << bits << 40 << 256 << std::optional<int>(64) << true;
            QTest::newRow(b + " 21x172 g32 act-order") << bits << 21 << 172 << std::optional<int>(32) << true;
            QTest::newRow(b + " 64x1027 g128 act-order") << bits << 64 << 1027 << std::optional<int>(128) << true;
        }
    }
    void productsMatchDequantizeThenMultiply() {
        QFETCH(int, bits);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(std::optional<int>, groupSize);
        QFETCH(bool, actOrder);
        const QuantizedWeight Q = test::randomQuantized(bits, rows, cols, groupSize, actOrder, unsigned(bits * 1000 + rows));
        const kernels::PackedQuantWeight P = packOf(Q);
        const MatrixRM Wd = Q.dequantize();
        QCOMPARE(P.dequantize(), Wd);  // bit for bit
        for (Index n : {1, 2, 5, 37}) {
            const MatrixRM X = test::randomMatrix(n, cols, unsigned(n + cols));
            const Eigen::MatrixXd ref = X.cast<double>() * Wd.cast<double>().transpose();
            MatrixRM Ys;
            for (KernelPath path : test::availablePaths()) {
                MatrixRM Y;
                kernels::quantMatmul(P, X, Y, path);
                QCOMPARE(Y.rows(), n);
                QCOMPARE(Y.cols(), Index(rows));
                const double err = test::relError(Y, ref);
                if (err > test::kRelTol)
                    QFAIL(qPrintable(QString("%1, n = %2: relative error %3").arg(QString::fromStdString(kernels::kernelPathName(path))).arg(n).arg(err)));
                if (path == KernelPath::Scalar)
                    Ys = Y;
                else  // scalar and AVX2 agree
                    QVERIFY(test::relError(Y, Ys.cast<double>()) <= test::kRelTol);
            }
        }
    }
    void unpackRoundTripsExactly() {
        for (bool actOrder : {false, true}) {
            const QuantizedWeight Q = test::randomQuantized(3, 19, 172, 32, actOrder, 7);
            const QuantizedLinear L(Q, std::nullopt, "gptq");
            const QuantizedWeight R = L.weight();
            QCOMPARE(R.codes, Q.codes);
            QCOMPARE(R.scales, Q.scales);
            QCOMPARE(R.zeros, Q.zeros);
            QVERIFY(R.gIdx == Q.gIdx);
            QCOMPARE(R.groupSize, Q.groupSize);
            QCOMPARE(L.denseWeight(), Q.dequantize());
        }
    }
    void quantizedLinearKeepsOnlyPackedBytes() {
        // int4 g128 on 4096 inputs: 0.5 byte per weight of codes + 24 bytes per 8 rows and group.
        const QuantizedWeight Q = test::randomQuantized(4, 64, 4096, 128, false, 3);
        const QuantizedLinear L(Q, std::nullopt, "rtn");
        const std::size_t codes = 64 * 4096 / 2, params = (64 / 8) * 32 * 24;
        QCOMPARE(L.packed().streamedBytes(), codes + params);
        QVERIFY(L.packed().bytes() < codes + params + 4096 * 12 + 1024);  // + gather maps and g_idx
        QVERIFY(L.packed().identityOrder());
    }
    void forwardAddsTheBias() {
        const QuantizedWeight Q = test::randomQuantized(4, 12, 40, 16, false, 5);
        const VectorF bias = VectorF::LinSpaced(12, -1.0f, 1.0f);
        const QuantizedLinear L(Q, bias, "rtn");
        for (Index n : {1, 6}) {
            const MatrixRM X = test::randomMatrix(n, 40, 9);
            MatrixRM Y;
            L.forward(X, Y);
            const Eigen::MatrixXd ref = (X.cast<double>() * Q.dequantize().cast<double>().transpose()).rowwise() +
                                        bias.cast<double>().transpose();
            QVERIFY(test::relError(Y, ref) <= test::kRelTol);
        }
        MatrixRM Y;
        QVERIFY_THROWS_EXCEPTION(Error, L.forward(test::randomMatrix(1, 41, 1), Y));
    }
    void nonFiniteActivationsPropagate() {
        const QuantizedWeight Q = test::randomQuantized(4, 16, 256, 128, false, 4);
        const kernels::PackedQuantWeight P = packOf(Q);
        MatrixRM X = test::randomMatrix(1, 256, 2);
        X(0, 3) = std::numeric_limits<float>::quiet_NaN();
        for (KernelPath path : test::availablePaths()) {
            MatrixRM Y;
            kernels::quantMatmul(P, X, Y, path);
            QVERIFY2(Y.array().isNaN().all(), kernels::kernelPathName(path).c_str());
        }
    }
    void packRejectsInconsistentWeights() {
        QuantizedWeight Q = test::randomQuantized(4, 8, 64, 32, false, 1);
        Q.scales(0, 0) = 0.1f;  // not an F16 value
        QVERIFY_THROWS_EXCEPTION(Error, QuantizedLinear(Q, std::nullopt));
        QuantizedWeight Q1 = QuantizedWeight::allocate(8, 64, {1, 32, false});
        QVERIFY_THROWS_EXCEPTION(Error, packOf(Q1));  // packed widths are 2..8
    }
    void streamPiecesRebuildEveryCodeOfFiveSixAndSevenBits() {
        // The generic piece order of 5/6/7 bits: the pieces of each input cover its bits
        // [0, bits) exactly once, and each piece is the field of its word that the stream
        // formula (value k at bits [k·bits, (k+1)·bits)) puts there.
        checkPieces<5>();
        checkPieces<6>();
        checkPieces<7>();
        QCOMPARE(kernels::termsPerBlock(5), 36);  // values 6, 12, 19, 25 straddle
        QCOMPARE(kernels::termsPerBlock(6), 36);  // 96 = 16·6: only 3 of the 5 boundaries split a value
        QCOMPARE(kernels::termsPerBlock(7), 38);
    }
    void activationTermsCoverEveryCodeBit() {
        // Σ over the terms of one input of 2^exp2 · (bits of its piece) must rebuild the code:
        // each input appears with total weight (2^bits − 1) when every code bit is set.
        for (int bits : {2, 3, 4, 5, 6, 7, 8}) {
            const kernels::ActivationTerm* t = kernels::activationTerms(bits);
            QVERIFY(t);
            std::vector<int> seen(32, 0);
            for (int i = 0; i < kernels::termsPerBlock(bits); ++i) seen[t[i].input]++;
            int twice = 0;
            for (int k = 0; k < 32; ++k) {
                QVERIFY(seen[k] == 1 || seen[k] == 2);
                twice += seen[k] == 2;
            }
            QCOMPARE(32 + twice, kernels::termsPerBlock(bits));
        }
    }
};

QTEST_APPLESS_MAIN(TestQuantKernels)
#include "test_quant_kernels.moc"

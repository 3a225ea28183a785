// int8 × int8 → int32 kernels (core/kernels/int8_gemm.h): exact against an int64 reference,
// scalar and AVX2 alike, on odd shapes; W8A8 and LLM.int8() products through them.
#include <QtTest>

#include <random>

#include "core/kernels/int8_gemm.h"
#include "core/quant/int8_matmul.h"
#include "core/quant/llm_int8.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"
#include "kernel_test_util.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;
using kernels::KernelPath;

namespace {

std::vector<std::int8_t> randomCodes(Index rows, Index cols, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(-127, 127);
    std::vector<std::int8_t> v(std::size_t(rows * cols));
    for (auto& x : v) x = std::int8_t(d(rng));
    // extremes on the first row: the int16 pair sums of maddubs must not saturate
    for (Index c = 0; c < std::min<Index>(cols, 64); ++c) v[std::size_t(c)] = std::int8_t(c % 2 ? -127 : 127);
    return v;
}

// The codes of R [rows, cols] (padding dropped), as doubles for reference products.
Eigen::MatrixXd codesOf(const Int8RowQuantized& R) {
    Eigen::MatrixXd C(R.rows, R.cols);
    for (Index r = 0; r < R.rows; ++r)
        for (Index c = 0; c < R.cols; ++c) C(r, c) = R.code(r, c);
    return C;
}

}  // namespace

class TestInt8Kernels : public QObject {
    Q_OBJECT
private slots:
    void productsAreExact_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::newRow("1x1x1") << 1 << 1 << 1;
        QTest::newRow("1x7x33") << 1 << 7 << 33;
        QTest::newRow("2x9x64") << 2 << 9 << 64;
        QTest::newRow("3x70x172") << 3 << 70 << 172;
        QTest::newRow("37x131x4099") << 37 << 131 << 4099;
    }
    void productsAreExact() {
        QFETCH(int, n);
        QFETCH(int, rows);
        QFETCH(int, cols);
        const auto w = randomCodes(rows, cols, 1);
        const auto x = randomCodes(n, cols, 2);
        const kernels::PackedInt8Weight W(w.data(), rows, cols);
        const kernels::PackedInt8Weight X(x.data(), n, cols);  // padded activation rows
        for (KernelPath path : test::availablePaths()) {
            std::vector<std::int32_t> C(std::size_t(n * rows), -1);
            kernels::int8Matmul(W, X.row(0), n, X.stride(), C.data(), rows, path);
            for (Index m = 0; m < n; ++m)
                for (Index r = 0; r < rows; ++r) {
                    std::int64_t ref = 0;
                    for (Index c = 0; c < cols; ++c) ref += std::int64_t(w[std::size_t(r * cols + c)]) * x[std::size_t(m * cols + c)];
                    if (C[std::size_t(m * rows + r)] != ref)
                        QFAIL(qPrintable(QString("%1: C[%2, %3] = %4, expected %5").arg(QString::fromStdString(kernels::kernelPathName(path))).arg(m).arg(r).arg(C[std::size_t(m * rows + r)]).arg(ref)));
                }
        }
    }
    void minus128IsRejected() {
        const std::int8_t w[2] = {1, -128};
        QVERIFY_THROWS_EXCEPTION(Error, kernels::PackedInt8Weight(w, 1, 2));
        QVERIFY_THROWS_EXCEPTION(Error, (void)int8RowsFromCodes(w, 1, 2, VectorF::Ones(1)));
        QVERIFY_THROWS_EXCEPTION(Error, kernels::PackedInt8Weight::fromFloatCodes(MatrixRM::Constant(1, 1, 0.5f)));
    }
    void int8QuantizationMatchesTheFloatCodes() {
        const MatrixRM X = test::randomMatrix(5, 70, 3, 2.0f);
        for (int bits : {8, 6}) {
            const RowQuantized F = quantizeRowsAbsmax(X, bits);
            const Int8RowQuantized I = quantizeRowsAbsmaxInt8(X, bits);
            QCOMPARE(I.scales, F.scales);
            for (Index r = 0; r < 5; ++r)
                for (Index c = 0; c < 70; ++c) QCOMPARE(float(I.codes[std::size_t(r * I.stride + c)]), F.codes(r, c));
        }
    }
    void storedCodesArePaddedInt8Rows() {
        // A checkpoint's int8 weight [3, 33]: each row lands in a 64-byte row, padding zero.
        const auto w = randomCodes(3, 33, 8);
        const Int8RowQuantized R = int8RowsFromCodes(w.data(), 3, 33, VectorF::Constant(3, 0.5f));
        QCOMPARE(R.stride, Index(64));
        QCOMPARE(R.codes.size(), std::size_t(3 * 64));
        for (Index r = 0; r < 3; ++r)
            for (Index c = 0; c < 64; ++c) QCOMPARE(int(R.code(r, c)), c < 33 ? int(w[std::size_t(r * 33 + c)]) : 0);
        QCOMPARE(R.dequantized()(2, 5), 0.5f * float(w[2 * 33 + 5]));
        QVERIFY_THROWS_EXCEPTION(Error, (void)int8RowsFromCodes(w.data(), 3, 33, VectorF::Ones(2)));  // 2 scales for 3 rows
    }
    void w8a8ForwardIsTheExactIntegerProduct() {
        const MatrixRM W = test::randomMatrix(45, 100, 4);
        const MatrixRM X = test::randomMatrix(7, 100, 5, 3.0f);
        const W8A8Linear L(W, std::nullopt, 8, "w8a8");
        MatrixRM Y;
        L.forward(X, Y);
        const RowQuantized Xq = quantizeRowsAbsmax(X, 8);
        const Int8RowQuantized& Wq = L.quantizedWeight();
        for (Index m = 0; m < 7; ++m)
            for (Index o = 0; o < 45; ++o) {
                std::int64_t acc = 0;
                for (Index c = 0; c < 100; ++c) acc += std::int64_t(Xq.codes(m, c)) * std::int64_t(Wq.code(o, c));
                QCOMPARE(Y(m, o), (float(acc) * Wq.scales[o]) * Xq.scales[m]);  // bit for bit
            }
    }
    void llmInt8MatchesItsDefinition() {
        const MatrixRM W = test::randomMatrix(30, 64, 6);
        MatrixRM X = test::randomMatrix(4, 64, 7);
        X(1, 5) = 9.0f;  // outlier column 5
        X(3, 40) = -7.5f;  // outlier column 40
        const LlmInt8Linear L(W, std::nullopt, 6.0);
        MatrixRM Y;
        L.forward(X, Y);
        MatrixRM Xr = X;
        Xr.col(5).setZero();
        Xr.col(40).setZero();
        const RowQuantized Xq = quantizeRowsAbsmax(Xr, 8);
        const MatrixRM Wd = L.denseWeight();
        const Int8RowQuantized& Wq = L.quantizedWeight();
        const Eigen::MatrixXd ref = (Xq.scales.cast<double>().asDiagonal() * Xq.codes.cast<double>()) *
                                        (Wq.scales.cast<double>().asDiagonal() * codesOf(Wq)).transpose() +
                                    X.col(5).cast<double>() * Wd.col(5).cast<double>().transpose() +
                                    X.col(40).cast<double>() * Wd.col(40).cast<double>().transpose();
        QVERIFY(test::relError(Y, ref) <= test::kRelTol);
        QCOMPARE(L.stats().outlierColumns, std::uint64_t(2));
    }
    void integerProductKeepsItsContract() {
        const MatrixRM A = MatrixRM::Constant(2, 3000, 127.0f), B = MatrixRM::Constant(3, 3000, -127.0f);
        const Int32Matrix C = integerProduct(A, B, 127, 127);
        QCOMPARE(C(1, 2), std::int32_t(-127 * 127 * 3000));
        const MatrixRM A2 = MatrixRM::Constant(1, 10, 300.0f);  // beyond int8: float emulation
        QCOMPARE(integerProduct(A2, A2, 300, 300)(0, 0), std::int32_t(900000));
    }
};

QTEST_APPLESS_MAIN(TestInt8Kernels)
#include "test_int8_kernels.moc"

// The VNNI matrix–vector kernels of 5-, 6- and 7-bit weights (core/kernels/kernels_vnni_stream.cpp):
// KernelPath::Vnni runs them (not the AVX2 fallback) on a CPU with AVX-512 VNNI and VBMI, and
// they agree with the scalar reference kernel and with dequantize-then-multiply (in double) on
// odd shapes, groups of 32 and 128, trailing partial groups and act-order. Skipped on a CPU
// without those features (there the Vnni path runs the AVX2 kernel for these widths).
#include <QtTest>

#include <cmath>
#include <limits>

#include "core/kernels/quant_matmul.h"
#include "core/quant/quantized_weight.h"
#include "kernel_test_util.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;
using kernels::KernelPath;

Q_DECLARE_METATYPE(std::optional<int>)

namespace {

using test::packOf;

bool cpuRunsStreamVnni() {
    return kernels::kernelPathAvailable(KernelPath::Vnni) && kernels::cpuFeatures().avx512vbmi;
}

// y = Ŵ·x on one path, as a 1 × rows matrix.
MatrixRM gemv(const kernels::PackedQuantWeight& P, const MatrixRM& x, KernelPath path) {
    MatrixRM y(1, P.rows());
    kernels::quantGemv(P, x.data(), y.data(), path);
    return y;
}

}  // namespace

class TestVnniStreamKernels : public QObject {
    Q_OBJECT
private slots:
    void init() {
        if (!cpuRunsStreamVnni()) QSKIP("this CPU lacks AVX-512 VNNI or VBMI: the 5–7-bit VNNI kernels cannot run");
    }

    void vnniPathRunsItsOwnKernelForFiveToSevenBits() {
        for (int bits : {5, 6, 7}) {
            const kernels::PackedQuantWeight P = packOf(test::randomQuantized(bits, 16, 256, 128, false, 1));
            QCOMPARE(kernels::quantGemvKernel(P, KernelPath::Vnni), KernelPath::Vnni);
            QCOMPARE(kernels::quantGemvKernel(P, KernelPath::Avx2), KernelPath::Avx2);
        }
        // 3 bits has no VNNI kernel: the Vnni path runs the AVX2 one
        const kernels::PackedQuantWeight P3 = packOf(test::randomQuantized(3, 16, 256, 128, false, 1));
        QCOMPARE(kernels::quantGemvKernel(P3, KernelPath::Vnni), KernelPath::Avx2);
    }

    void matchesTheScalarReference_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::addColumn<std::optional<int>>("groupSize");
        QTest::addColumn<bool>("actOrder");
        for (int bits : {5, 6, 7}) {
            const QByteArray b = "int" + QByteArray::number(bits);
            QTest::newRow(b + " 8x32 g32 (one block)") << bits << 8 << 32 << std::optional<int>(32) << false;
            QTest::newRow(b + " 1x1 row") << bits << 1 << 1 << std::optional<int>() << false;
            QTest::newRow(b + " 7x13 g32 (in < 32)") << bits << 7 << 13 << std::optional<int>(32) << false;
            QTest::newRow(b + " 17x172 g32 (trailing partial)") << bits << 17 << 172 << std::optional<int>(32) << false;
            QTest::newRow(b + " 33x300 g128") << bits << 33 << 300 << std::optional<int>(128) << false;
            QTest::newRow(b + " 24x200 g48 (group not x32)") << bits << 24 << 200 << std::optional<int>(48) << false;
            QTest::newRow(b + " 9x77 row") << bits << 9 << 77 << std::optional<int>() << false;
            QTest::newRow(b + " 21x172 g32 act-order") << bits << 21 << 172 << std::optional<int>(32) << true;
            QTest::newRow(b + " 64x1027 g128 act-order") << bits << 64 << 1027 << std::optional<int>(128) << true;
            QTest::newRow(b + " 203x2080 g128 (threads)") << bits << 203 << 2080 << std::optional<int>(128) << false;
        }
    }
    void matchesTheScalarReference() {
        QFETCH(int, bits);
        QFETCH(int, rows);
        QFETCH(int, cols);
        QFETCH(std::optional<int>, groupSize);
        QFETCH(bool, actOrder);
        const QuantizedWeight Q = test::randomQuantized(bits, rows, cols, groupSize, actOrder, unsigned(bits * 7919 + rows));
        const kernels::PackedQuantWeight P = packOf(Q);
        QCOMPARE(kernels::quantGemvKernel(P, KernelPath::Vnni), KernelPath::Vnni);
        const MatrixRM x = test::randomMatrix(1, cols, unsigned(cols + bits));
        const Eigen::MatrixXd ref = x.cast<double>() * Q.dequantize().cast<double>().transpose();
        const MatrixRM ys = gemv(P, x, KernelPath::Scalar);
        const MatrixRM yv = gemv(P, x, KernelPath::Vnni);
        QVERIFY2(test::relError(yv, ys.cast<double>()) <= test::kRelTol, "VNNI against the scalar reference kernel");
        QVERIFY2(test::relError(yv, ref) <= test::kRelTol, "VNNI against dequantize-then-multiply");
    }

    void largestCodesAndActivationsStayExact() {
        // Every code 2^bits − 1 (the mask must keep all its bits and no neighbour's), zero point 0,
        // and activations ±max: the int32 sums of a 4096-input group are as large as they get.
        for (int bits : {5, 6, 7}) {
            QuantizedWeight Q = test::randomQuantized(bits, 11, 4096, std::nullopt, false, 3);
            Q.codes.setConstant(std::uint8_t((1 << bits) - 1));
            Q.zeros.setZero();
            MatrixRM x(1, 4096);
            for (Index c = 0; c < 4096; ++c) x(0, c) = c % 3 ? 1.0f : -1.0f;
            const kernels::PackedQuantWeight P = packOf(Q);
            const Eigen::MatrixXd ref = x.cast<double>() * Q.dequantize().cast<double>().transpose();
            QVERIFY2(test::relError(gemv(P, x, KernelPath::Vnni), ref) <= test::kRelTol, qPrintable(QString("int%1").arg(bits)));
        }
    }

    void nonFiniteActivationsPropagate() {
        for (int bits : {5, 6, 7}) {
            const kernels::PackedQuantWeight P = packOf(test::randomQuantized(bits, 16, 256, 128, false, 4));
            MatrixRM x = test::randomMatrix(1, 256, 2);
            x(0, 200) = std::numeric_limits<float>::infinity();
            x(0, 3) = std::numeric_limits<float>::quiet_NaN();
            QVERIFY(gemv(P, x, KernelPath::Vnni).array().isNaN().all());
        }
    }
};

QTEST_APPLESS_MAIN(TestVnniStreamKernels)
#include "test_vnni_stream_kernels.moc"

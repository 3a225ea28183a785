// FP32 and FP16 tile kernels (core/kernels/float_matmul.h) and Fp16Linear: odd shapes,
// scalar reference against AVX2, against the float weights multiplied in double.
#include <QtTest>

#include "core/kernels/float_matmul.h"
#include "core/kernels/fp16_linear.h"
#include "core/quant/quantized_weight.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "kernel_test_util.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;
using kernels::KernelPath;

class TestFloatKernels : public QObject {
    Q_OBJECT
private slots:
    void productsMatchTheReference_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("cols");
        QTest::newRow("1x1") << 1 << 1;
        QTest::newRow("7x13") << 7 << 13;
        QTest::newRow("8x64") << 8 << 64;
        QTest::newRow("17x172") << 17 << 172;
        QTest::newRow("100x1001") << 100 << 1001;
        QTest::newRow("520x600 (parallel)") << 520 << 600;
    }
    void productsMatchTheReference() {
        QFETCH(int, rows);
        QFETCH(int, cols);
        const MatrixRM W = test::randomMatrix(rows, cols, unsigned(rows * 31 + cols));
        const MatrixRM W16 = W.unaryExpr([](float x) { return f16ToFloat(floatToF16(x)); });
        const kernels::PackedF32Weight P32(W);
        const kernels::PackedF16Weight P16(W);
        QCOMPARE(P16.toFloat(), W16);
        for (Index n : {1, 3, 40}) {
            const MatrixRM X = test::randomMatrix(n, cols, unsigned(n));
            const Eigen::MatrixXd ref32 = X.cast<double>() * W.cast<double>().transpose();
            const Eigen::MatrixXd ref16 = X.cast<double>() * W16.cast<double>().transpose();
            for (KernelPath path : test::availablePaths()) {
                MatrixRM Y32, Y16;
                kernels::f32Matmul(P32, X, Y32, path);
                kernels::f16Matmul(P16, X, Y16, path);
                QVERIFY2(test::relError(Y32, ref32) <= test::kRelTol, kernels::kernelPathName(path).c_str());
                QVERIFY2(test::relError(Y16, ref16) <= test::kRelTol, kernels::kernelPathName(path).c_str());
            }
        }
    }
    void fp16LinearIsTheRoundedLinear() {
        const QuantizedWeight Q = test::randomQuantized(4, 24, 72, 32, true, 2);
        const VectorF bias = VectorF::LinSpaced(24, -0.3f, 0.7f);
        const QuantizedLinear Lq(Q, bias, "gptq");
        const LinearPtr L = Fp16Linear::fromLinear(Lq);
        QCOMPARE(L->format(), std::string("f16"));
        QCOMPARE(L->storageBytes(), std::size_t(24 * 72 * 2 + 24 * 2));
        // s·(q − z) needs up to 11 + 4 significant bits: the FP16 version rounds it to F16.
        const MatrixRM Wq = Lq.denseWeight();
        QCOMPARE(L->denseWeight(), MatrixRM(Wq.unaryExpr([](float x) { return f16ToFloat(floatToF16(x)); })));
        const MatrixRM X = test::randomMatrix(5, 72, 4);
        MatrixRM Y, Yq;
        L->forward(X, Y);
        Lq.forward(X, Yq);
        QVERIFY(test::relError(Y, Yq.cast<double>()) <= 1e-3);  // F16 rounding of the weights
        QVERIFY_THROWS_EXCEPTION(Error, Fp16Linear(test::randomMatrix(3, 4, 1), VectorF::Zero(2)));
    }
    void fp16LinearFromRawBits() {
        const MatrixRM W = test::randomMatrix(9, 33, 8);
        std::vector<std::uint16_t> bits(std::size_t(W.size()));
        for (Index i = 0; i < W.size(); ++i) bits[std::size_t(i)] = floatToF16(W.data()[i]);
        const Fp16Linear a(bits.data(), 9, 33), b(W);
        QCOMPARE(a.denseWeight(), b.denseWeight());
    }
};

QTEST_APPLESS_MAIN(TestFloatKernels)
#include "test_float_kernels.moc"

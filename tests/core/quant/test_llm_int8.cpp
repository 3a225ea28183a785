// LLM.int8(): outlier columns in floating point, the rest vector-wise int8.
#include <QtTest>

#include <thread>

#include "core/backend/backend.h"
#include "core/quant/llm_int8.h"
#include "core/quant/smoothquant.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {
double relativeError(const MatrixRM& Y, const MatrixRM& ref) {
    return (Y - ref).cast<double>().squaredNorm() / ref.cast<double>().squaredNorm();
}
}  // namespace

class TestLlmInt8 : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { setThreadCount(2); }

    void outlierColumnsAreThoseReachingTheThreshold() {
        MatrixRM X = MatrixRM::Zero(3, 10);
        X(0, 3) = 6.0f;   // exactly the threshold counts (|x| ≥ t)
        X(2, 7) = -9.0f;
        X(1, 1) = 5.99f;
        QCOMPARE(llmInt8OutlierColumns(X, 6.0), std::vector<int>({3, 7}));
        QVERIFY(llmInt8OutlierColumns(X, 10.0).empty());
    }
    void closeToFloatOnNormalData() {
        const MatrixRM X = test::randomMatrix(64, 256, 1, 0.5f);  // |x| < 6: no outliers
        const MatrixRM W = test::randomMatrix(80, 256, 2, 0.05f);
        const LlmInt8Linear L(W, std::nullopt);
        MatrixRM Y;
        L.forward(X, Y);
        const double err = relativeError(Y, X * W.transpose());
        qInfo("LLM.int8() relative squared error %.2e", err);
        QVERIFY2(err < 1e-4, qPrintable(QString::number(err)));
        QCOMPARE(L.stats().outlierColumns, std::uint64_t(0));
    }
    void outlierColumnsKeepTheirActivationsInFloat() {
        // Only outlier columns are non-zero: the int8 part vanishes, and the float activations
        // meet the stored (dequantized int8) weight, as bitsandbytes does — no activation rounding.
        MatrixRM X = MatrixRM::Zero(8, 64);
        X.col(5) = test::randomMatrix(8, 1, 3) * 20.0f;
        X.col(6) = VectorF::Constant(8, 7.0f);
        const MatrixRM W = test::randomMatrix(16, 64, 4);
        const LlmInt8Linear L(W, std::nullopt);
        MatrixRM Y;
        L.forward(X, Y);
        const MatrixRM ref = X * L.denseWeight().transpose();
        const float err = (Y - ref).cwiseAbs().maxCoeff();
        QVERIFY2(err <= 1e-6f * ref.cwiseAbs().maxCoeff(), qPrintable(QString::number(err)));
        // The weight itself is int8: per row, |W − Ŵ| ≤ half a step of absmax/127.
        const MatrixRM dW = (W - L.denseWeight()).cwiseAbs();
        for (Index r = 0; r < 16; ++r) QVERIFY(dW.row(r).maxCoeff() <= 0.5f * W.row(r).cwiseAbs().maxCoeff() / 127.0f * 1.0001f);
    }
    void decompositionBeatsPlainInt8WithOutliers() {
        MatrixRM X = test::randomMatrix(64, 128, 5);
        X.col(10) *= 30.0f;
        X.col(99) *= 30.0f;
        const MatrixRM W = test::randomMatrix(48, 128, 6, 0.05f);
        const MatrixRM ref = X * W.transpose();
        MatrixRM Yint8, Ymixed;
        W8A8Linear(W, std::nullopt).forward(X, Yint8);
        const LlmInt8Linear L(W, std::nullopt, 6.0);
        L.forward(X, Ymixed);
        const double plain = relativeError(Yint8, ref), mixed = relativeError(Ymixed, ref);
        qInfo("int8 error plain %.2e, LLM.int8() %.2e", plain, mixed);
        QVERIFY(mixed < 0.1 * plain);
        QCOMPARE(L.stats().outlierColumns, std::uint64_t(2));
    }
    void statisticsCountOutlierColumnsAcrossCalls() {
        const MatrixRM W = test::randomMatrix(4, 50, 7);
        const LlmInt8Linear L(W, VectorF::Ones(4), 6.0);
        MatrixRM X = test::randomMatrix(4, 50, 8, 0.1f), Y;
        X(0, 1) = 8.0f;
        X(3, 2) = 8.0f;
        std::thread a([&] { MatrixRM y; L.forward(X, y); });
        std::thread b([&] { MatrixRM y; L.forward(X, y); });
        a.join();
        b.join();
        L.forward(test::randomMatrix(4, 50, 9, 0.1f), Y);
        const LlmInt8Stats s = L.stats();
        QCOMPARE(s.forwards, std::uint64_t(3));
        QCOMPARE(s.columnsSeen, std::uint64_t(150));
        QCOMPARE(s.outlierColumns, std::uint64_t(4));
        QCOMPARE(s.outlierFraction(), 4.0 / 150.0);
        L.resetStats();
        QCOMPARE(L.stats().forwards, std::uint64_t(0));
        QCOMPARE(L.format(), std::string("llm_int8 t6"));
    }
};

QTEST_APPLESS_MAIN(TestLlmInt8)
#include "test_llm_int8.moc"

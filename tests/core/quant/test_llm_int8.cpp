// LLM.int8(): outlier columns in floating point, the rest vector-wise int8.
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/backend/backend.h"
#include "core/quant/llm_int8.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {
double relativeError(const MatrixRM& Y, const MatrixRM& ref) {
    return (Y - ref).cast<double>().squaredNorm() / ref.cast<double>().squaredNorm();
}

// Symmetric absmax int8 codes of a row (eq. 1), written out here instead of calling the library.
Eigen::VectorXd int8Codes(const Eigen::RowVectorXf& a, double& scale) {
    scale = double(std::max(a.cwiseAbs().maxCoeff(), 1e-5f) / 127.0f);
    Eigen::VectorXd q(a.size());
    for (Index c = 0; c < a.size(); ++c) q[c] = std::clamp(double(std::rint(a[c] / float(scale))), -127.0, 127.0);
    return q;
}

float roundToHalf(float x) { return f16ToFloat(floatToF16(x)); }
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
    void storedFpColumnsMatchADirectFloatComputation() {
        // W [24, 96]; calibration found outliers in input columns 7 and 50 (stored in FP16).
        // At run time column 7 crosses the threshold, 50 does not (it takes the FP path all
        // the same), and column 30 crosses it without being stored (dequantized int8 column).
        const std::vector<int> stored = {7, 50};
        const MatrixRM W = test::randomMatrix(24, 96, 10, 0.1f);
        const VectorF b = test::randomMatrix(24, 1, 11);
        MatrixRM X = test::randomMatrix(6, 96, 12, 0.5f);
        X(2, 7) = 11.0f;
        X(4, 30) = -8.0f;
        X(1, 50) = 3.0f;
        const LlmInt8Linear L(W, b, 6.0, stored);
        MatrixRM Y;
        L.forward(X, Y);

        // Direct computation in double, eq. 3: W's stored columns rounded to F16, the rest
        // int8 per output row with the stored columns left out of the row scales.
        MatrixRM Wr = W;
        for (int j : stored) Wr.col(j).setZero();
        MatrixRM Xr = X;
        for (int j : {7, 30, 50}) Xr.col(j).setZero();
        Eigen::MatrixXd ref(6, 24);
        for (Index o = 0; o < 24; ++o) {
            double sw = 0.0;
            const Eigen::VectorXd Wq = int8Codes(Wr.row(o), sw);
            for (Index t = 0; t < 6; ++t) {
                double sx = 0.0;
                const Eigen::VectorXd Xq = int8Codes(Xr.row(t), sx);
                double y = sx * sw * Xq.dot(Wq) + double(X(t, 30)) * double(float(sw) * float(Wq[30]));
                for (int j : stored) y += double(X(t, j)) * double(roundToHalf(W(o, j)));
                ref(t, o) = y + double(b[o]);
            }
        }
        const double err = (Y.cast<double>() - ref).cwiseAbs().maxCoeff();
        qInfo("LLM.int8() with stored FP columns: max |Y - ref| %.2e (max |ref| %.2f)", err, ref.cwiseAbs().maxCoeff());
        QVERIFY2(err < 1e-5 * ref.cwiseAbs().maxCoeff(), qPrintable(QString::number(err)));
        QCOMPARE(L.fpColumns(), stored);
        QCOMPARE(L.fpWeight()(3, 1), roundToHalf(W(3, 50)));
        QCOMPARE(L.stats().outlierColumns, std::uint64_t(2));  // 7 and 30 crossed the threshold
        // int8 codes [24, 96] + F32 scales + two F16 columns with int32 indices + F32 bias.
        QCOMPARE(L.storageBytes(), std::size_t(24 * 96 + 24 * 4 + 2 * (24 * 2 + 4) + 24 * 4));
    }
    void rebuiltFromItsStoredPartsGivesTheSameOutputs() {
        // What a checkpoint holds (int8 codes, scales, FP16 columns) rebuilds the same module, bit for bit.
        const MatrixRM W = test::randomMatrix(20, 70, 13, 0.1f);
        MatrixRM X = test::randomMatrix(5, 70, 14, 0.5f);
        X(0, 3) = 9.0f;
        X(3, 41) = 7.0f;
        const LlmInt8Linear L(W, std::nullopt, 6.0, {3, 12});
        const LlmInt8Linear R(L.quantizedWeight(), std::nullopt, 6.0, L.fpColumns(), L.fpWeightF16());
        MatrixRM Y, Yr;
        L.forward(X, Y);
        R.forward(X, Yr);
        QCOMPARE(Yr, Y);
        QCOMPARE(R.denseWeight(), L.denseWeight());
        QCOMPARE(R.storageBytes(), L.storageBytes());
    }
    void inconsistentStoredPartsAreRejected() {
        const LlmInt8Linear L(test::randomMatrix(4, 40, 15), std::nullopt, 6.0, {5});
        const auto fp = L.fpWeightF16();
        QVERIFY_THROWS_EXCEPTION(Error, LlmInt8Linear(L.quantizedWeight(), std::nullopt, 6.0, {5}, {}));  // no fp_weight
        QVERIFY_THROWS_EXCEPTION(Error, LlmInt8Linear(L.quantizedWeight(), std::nullopt, 6.0, {40}, fp));  // column outside
        QVERIFY_THROWS_EXCEPTION(Error, LlmInt8Linear(L.quantizedWeight(), std::nullopt, 0.0, {5}, fp));   // threshold 0
        QVERIFY_THROWS_EXCEPTION(Error, LlmInt8Linear(L.quantizedWeight(), std::nullopt, 6.0, {5}, std::vector<std::uint16_t>(4, 0x7c00)));  // Inf
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

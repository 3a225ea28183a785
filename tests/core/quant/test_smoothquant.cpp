// SmoothQuant's migration scales and the W8A8 linear.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/quant/awq.h"
#include "core/quant/smoothquant.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {
double relativeError(const MatrixRM& Y, const MatrixRM& ref) {
    return (Y - ref).cast<double>().squaredNorm() / ref.cast<double>().squaredNorm();
}
}  // namespace

class TestSmoothQuant : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { setThreadCount(2); }

    void scaleFormulaOnAHandExample() {
        // s_j = max|X_j|^α / max|W_j|^(1−α), α = 0.5, weight maxima over both linears.
        const VectorF act = (VectorF(4) << 4.0f, 1.0f, 9.0f, 16.0f).finished();
        MatrixRM A(2, 4), B(1, 4);
        A << 1.0f, -4.0f, 0.1f, 0.0f,
             -0.5f, 2.0f, -0.25f, 0.0f;
        B << 0.2f, 1.0f, 0.2f, 0.0f;
        const VectorF s = smoothQuantScales(act, {&A, &B}, 0.5);
        QCOMPARE(s[0], 2.0f);   // √4 / √1
        QCOMPARE(s[1], 0.5f);   // √1 / √4
        QCOMPARE(s[2], 6.0f);   // √9 / √0.25
        QVERIFY(std::abs(s[3] - 4.0f / std::sqrt(1e-5f)) < 1e-2f);  // max|W| clamped to 1e-5
        const VectorF s1 = smoothQuantScales(act, {&A}, 1.0);
        QCOMPARE(s1[2], 9.0f);
        QVERIFY_THROWS_EXCEPTION(Error, smoothQuantScales(VectorF::Ones(3), {&A}, 0.5));
    }
    void runningAbsMax() {
        VectorF m;
        accumulateActivationAbsMax((MatrixRM(2, 3) << 1, -5, 2, 0, 1, -3).finished(), m);
        accumulateActivationAbsMax((MatrixRM(1, 3) << -4, 2, 1).finished(), m);
        QCOMPARE(m, (VectorF(3) << 4.0f, 5.0f, 3.0f).finished());
    }
    void w8a8IsCloseToFloatOnNormalData() {
        const MatrixRM X = test::randomMatrix(64, 256, 1);
        const MatrixRM W = test::randomMatrix(96, 256, 2, 0.05f);
        const VectorF bias = VectorF::LinSpaced(96, -0.1f, 0.1f);
        const W8A8Linear L(W, bias);
        MatrixRM Y;
        L.forward(X, Y);
        const MatrixRM ref = (X * W.transpose()).rowwise() + bias.transpose();
        const double err = relativeError(Y, ref);
        qInfo("W8A8 relative squared error %.2e", err);
        QVERIFY2(err < 1e-4, qPrintable(QString::number(err)));
        QCOMPARE(L.storageBytes(), std::size_t(96 * 256 + 96 * 4 + 96 * 4));
        QCOMPARE(L.format(), std::string("w8a8"));
    }
    void integerProductIsExactBeyondFloatRange() {
        // in = 3000 > 1039: several float chunks; |sum| up to 3000·127² ≫ 2^24.
        MatrixRM A = MatrixRM::Constant(2, 3000, 127.0f), B = MatrixRM::Constant(3, 3000, -127.0f);
        A(1, 7) = 1.0f;
        const Int32Matrix C = integerProduct(A, B, 127, 127);
        QCOMPARE(C(0, 0), -48387000);            // −3000 · 16129
        QCOMPARE(C(1, 2), -48387000 + 16002);    // one term 127·127 replaced by 1·127
    }
    void w8a8MatchesItsIntegerDefinition() {
        const MatrixRM X = test::randomMatrix(5, 40, 3);
        const MatrixRM W = test::randomMatrix(6, 40, 4);
        const W8A8Linear L(W, std::nullopt);
        MatrixRM Y;
        L.forward(X, Y);
        const RowQuantized Xq = quantizeRowsAbsmax(X, 8), Wq = quantizeRowsAbsmax(W, 8);
        for (Index t = 0; t < 5; ++t)
            for (Index o = 0; o < 6; ++o) {
                double acc = 0.0;
                for (Index k = 0; k < 40; ++k) acc += double(Xq.codes(t, k)) * double(Wq.codes(o, k));
                QVERIFY(std::abs(Y(t, o) - float(acc) * Wq.scales[o] * Xq.scales[t]) < 1e-6f * std::abs(Y(t, o)) + 1e-7f);
            }
        QCOMPARE(Xq.scales[0], X.row(0).cwiseAbs().maxCoeff() / 127.0f);
    }
    void smoothingHelpsWithActivationOutliers() {
        MatrixRM X = test::randomMatrix(64, 128, 5);
        for (Index j : {7, 70}) X.col(j) *= 60.0f;
        const MatrixRM W = test::randomMatrix(64, 128, 6, 0.05f);
        const MatrixRM ref = X * W.transpose();
        MatrixRM Yplain, Ysmooth;
        W8A8Linear(W, std::nullopt).forward(X, Yplain);
        const VectorF s = smoothQuantScales(activationAbsMax(X), {&W}, 0.5);
        MatrixRM Ws = W;
        scaleWeightColumns(Ws, s);
        const MatrixRM Xs = X.array().rowwise() / s.transpose().array();
        W8A8Linear(Ws, std::nullopt, 8, "smoothquant").forward(Xs, Ysmooth);
        const double plain = relativeError(Yplain, ref), smooth = relativeError(Ysmooth, ref);
        qInfo("W8A8 error plain %.2e, smoothed %.2e", plain, smooth);
        QVERIFY(smooth < 0.5 * plain);
    }
};

QTEST_APPLESS_MAIN(TestSmoothQuant)
#include "test_smoothquant.moc"

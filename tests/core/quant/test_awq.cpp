// AWQ: α = 0 is RTN, outlier channels are protected, the clip search, the folding helpers.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/quant/awq.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// Inputs with a few salient channels 40× larger than the rest (the AWQ paper's observation).
MatrixRM inputsWithOutlierChannels(Index n, Index in, unsigned seed) {
    MatrixRM X = test::randomMatrix(n, in, seed);
    for (Index j : {3, 17, 50, 90}) X.col(j) *= 40.0f;
    return X;
}

double outputError(const MatrixRM& W, const MatrixRM& What, const MatrixRM& X) {
    return (X.cast<double>() * (W - What).cast<double>().transpose()).squaredNorm();
}

// Ŵ = Q(W·diag(s))·diag(s)⁻¹: what the layer computes once 1/s is folded into its input.
MatrixRM effectiveWeight(const QuantizedWeight& Q, const VectorF& s) {
    MatrixRM What = Q.dequantize();
    What.array().rowwise() /= s.transpose().array();
    return What;
}

}  // namespace

class TestAwq : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { setThreadCount(2); }

    void alphaZeroWithoutClipIsRtn() {
        const MatrixRM X = inputsWithOutlierChannels(128, 96, 1);
        const MatrixRM W = test::randomMatrix(40, 96, 2, 0.05f);
        AwqOptions o;
        o.grid = 1;  // α ∈ {0}
        o.clipSearch = false;
        const WeightGridSpec spec{4, 32, false};
        const AwqResult r = quantizeAwq(X, {&W}, spec, o);
        QCOMPARE(r.search.alpha, 0.0);
        QVERIFY((r.search.scales.array() == 1.0f).all());
        const QuantizedWeight rtn = quantizeRtn(W, spec);
        QCOMPARE(r.weights[0].codes, rtn.codes);
        QCOMPARE(r.weights[0].scales, rtn.scales);
        QCOMPARE(r.weights[0].zeros, rtn.zeros);
    }

    void beatsRtnWithOutlierChannels() {
        const MatrixRM X = inputsWithOutlierChannels(256, 128, 3);
        const MatrixRM Wq = test::randomMatrix(64, 128, 4, 0.05f);
        const MatrixRM Wk = test::randomMatrix(48, 128, 5, 0.05f);
        const WeightGridSpec spec{3, 32, false};
        AwqOptions o;
        o.clipSearch = false;
        const AwqResult r = quantizeAwq(X, {&Wq, &Wk}, spec, o);
        QVERIFY(r.search.alpha > 0.0);
        const double awq = outputError(Wq, effectiveWeight(r.weights[0], r.search.scales), X) +
                           outputError(Wk, effectiveWeight(r.weights[1], r.search.scales), X);
        const double rtn = outputError(Wq, quantizeRtn(Wq, spec).dequantize(), X) +
                           outputError(Wk, quantizeRtn(Wk, spec).dequantize(), X);
        qInfo("AWQ alpha %.2f, AWQ/RTN output error %.3f", r.search.alpha, awq / rtn);
        QVERIFY2(awq < 0.4 * rtn, qPrintable(QString::number(awq / rtn)));  // measured 0.183
        // errors[k] is the mean squared output error of α = k/grid; errors[0] is RTN's.
        QCOMPARE(int(r.search.errors.size()), 20);
        QVERIFY(std::abs(r.search.errors[0] - rtn / (256.0 * 112.0)) < 1e-4 * r.search.errors[0]);
        const double best = *std::min_element(r.search.errors.begin(), r.search.errors.end());
        QCOMPARE(r.search.errors[std::size_t(std::lround(r.search.alpha * 20))], best);
    }

    void scalesAreNormalisedAroundOne() {
        const MatrixRM X = inputsWithOutlierChannels(64, 128, 6);
        const MatrixRM W = test::randomMatrix(16, 128, 7, 0.05f);
        const AwqScaleSearch s = searchAwqScales(X, {&W}, {4, 32, false}, 10);
        QVERIFY(s.alpha > 0.0);
        QVERIFY(std::abs(std::sqrt(s.scales.maxCoeff() * s.scales.minCoeff()) - 1.0f) < 1e-5f);
        // s ∝ mean|x|^α, so an outlier channel gets 40^α times the scale of its neighbours (roughly).
        QVERIFY(s.scales[3] > 2.0f * s.scales[4]);
    }

    void clipSearchNeverHurtsTheSampledOutput() {
        MatrixRM W = test::randomMatrix(32, 64, 8, 0.05f);
        W(5, 10) = 0.6f;  // a weight outlier: clipping it sharpens the rest of its group
        const MatrixRM X = test::randomMatrix(600, 64, 9);
        const WeightGridSpec spec{3, 32, false};
        const MatrixRM maxVal = searchAwqClip(X, W, spec);
        QCOMPARE(maxVal.rows(), Index(32));
        QCOMPARE(maxVal.cols(), Index(2));
        MatrixRM clipped = W;
        applyAwqClip(clipped, maxVal, spec);
        for (Index r = 0; r < 32; ++r)
            for (Index k = 0; k < 2; ++k) {
                const float orgMax = W.block(r, k * 32, 1, 32).cwiseAbs().maxCoeff();
                QVERIFY(maxVal(r, k) <= orgMax && maxVal(r, k) >= 0.55f * orgMax - 1e-6f);  // i ≤ 9 of 20
            }
        const double withClip = outputError(W, quantizeRtn(clipped, spec).dequantize(), X);
        const double without = outputError(W, quantizeRtn(W, spec).dequantize(), X);
        qInfo("clip/no-clip output error %.3f", withClip / without);
        QVERIFY(withClip <= without);
        QVERIFY(maxVal(5, 0) < 0.6f);  // the outlier's group was clipped
    }

    void foldingHelpersPreserveTheProduct() {
        const MatrixRM X = test::randomMatrix(10, 24, 10);
        const MatrixRM W = test::randomMatrix(12, 24, 11);
        const VectorF s = VectorF::LinSpaced(24, 0.5f, 3.0f);
        MatrixRM Ws = W;
        scaleWeightColumns(Ws, s);
        const MatrixRM Xs = X.array().rowwise() / s.transpose().array();
        QVERIFY((Xs * Ws.transpose() - X * W.transpose()).cwiseAbs().maxCoeff() < 1e-5f);
        // A previous linear P [24, 8] producing X: dividing its rows by s yields X / s.
        const MatrixRM Z = test::randomMatrix(10, 8, 12);
        MatrixRM P = test::randomMatrix(24, 8, 13);
        const MatrixRM before = Z * P.transpose();
        std::optional<VectorF> bias = VectorF::Ones(24);
        divideWeightRows(P, s, &bias);
        QVERIFY(((Z * P.transpose()) - MatrixRM(before.array().rowwise() / s.transpose().array())).cwiseAbs().maxCoeff() < 1e-5f);
        QCOMPARE((*bias)[23], 1.0f / 3.0f);
        VectorF norm = VectorF::Constant(24, 2.0f);
        divideNormWeight(norm, s);
        QCOMPARE(norm[0], 4.0f);
        QVERIFY_THROWS_EXCEPTION(Error, scaleWeightColumns(Ws, VectorF::Ones(5)));
    }
};

QTEST_APPLESS_MAIN(TestAwq)
#include "test_awq.moc"

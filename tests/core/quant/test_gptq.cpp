// GPTQ against RTN and against its own invariants (identity Hessian, act-order groups,
// static groups, dead inputs, damping retries, the reported objective).
#include <QtTest>

#include <numeric>

#include "core/backend/backend.h"
#include "core/quant/gptq.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

// 512 of 1100 random rows whose H-norms vary by ~±50 % each: the ratio estimate's spread is ~2 %.
constexpr double kReferenceEstimateTolerance = 0.06;

// Correlated inputs: 8 shared factors plus independent noise, with per-channel scales
// spread over a factor 4 — the situation in which GPTQ's error compensation matters.
MatrixRM correlatedInputs(Index n, Index in, unsigned seed) {
    const MatrixRM F = test::randomMatrix(n, 8, seed);
    const MatrixRM C = test::randomMatrix(8, in, seed + 1);
    MatrixRM X = F * C + 0.3f * test::randomMatrix(n, in, seed + 2);
    const VectorF channelScale = VectorF::LinSpaced(in, 0.5f, 2.0f);
    X.array().rowwise() *= channelScale.transpose().array();
    return X;
}

MatrixRMd hessianOf(const MatrixRM& X) {
    MatrixRMd H;
    long n = 0;
    accumulateHessian(X, H, n);
    return H;
}

// ‖W Xᵀ − Ŵ Xᵀ‖², the layer objective GPTQ minimises.
double outputError(const MatrixRM& W, const MatrixRM& What, const MatrixRM& X) {
    return (X.cast<double>() * (W - What).cast<double>().transpose()).squaredNorm();
}

}  // namespace

class TestGptq : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { setThreadCount(2); }

    void identityHessianEqualsRtn() {
        // H = I: Hinv is diagonal, so no error is propagated and every group sees the original weights.
        const MatrixRM W = test::randomMatrix(40, 96, 21);
        const WeightGridSpec spec{4, 32, false};
        const GptqResult r = quantizeGptq(W, MatrixRMd::Identity(96, 96), spec, GptqOptions{});
        const QuantizedWeight rtn = quantizeRtn(W, spec);
        QCOMPARE(r.weight.codes, rtn.codes);
        QCOMPARE(r.weight.scales, rtn.scales);
        QCOMPARE(r.weight.zeros, rtn.zeros);
        QCOMPARE(r.report.damping, 0.01);
        QCOMPARE(r.report.dampingRetries, 0);
    }

    void neverWorseThanRtnOnCorrelatedInputs() {
        const WeightGridSpec spec{3, 32, false};
        double ratioSum = 0.0;
        for (unsigned seed = 100; seed < 110; ++seed) {
            const MatrixRM W = test::randomMatrix(64, 128, seed, 0.05f);
            const MatrixRM X = correlatedInputs(512, 128, seed * 7);
            const MatrixRM Wgptq = quantizeGptq(W, hessianOf(X), spec, GptqOptions{}).weight.dequantize();
            const MatrixRM Wrtn = quantizeRtn(W, spec).dequantize();
            const double ratio = outputError(W, Wgptq, X) / outputError(W, Wrtn, X);
            QVERIFY2(ratio <= 1.0, qPrintable(QString("seed %1: GPTQ/RTN = %2").arg(seed).arg(ratio)));
            ratioSum += ratio;
        }
        const double meanRatio = ratioSum / 10.0;
        qInfo("mean GPTQ/RTN output error: %.3f", meanRatio);
        QVERIFY2(meanRatio < 0.5, qPrintable(QString::number(meanRatio)));  // measured 0.106 (seeds 100..109)
    }

    void reportedObjectiveMatchesTheDirectTrace() {
        const MatrixRM W = test::randomMatrix(48, 100, 31, 0.05f);
        const MatrixRM X = correlatedInputs(400, 100, 32);
        const MatrixRMd H = hessianOf(X);
        const GptqResult r = quantizeGptq(W, H, {4, 25, false}, GptqOptions{});
        const MatrixRMd dW = (W - r.weight.dequantize()).cast<double>();
        const double direct = (dW * H * dW.transpose()).trace();
        const MatrixRMd Wd = W.cast<double>();
        const double reference = (Wd * H * Wd.transpose()).trace();
        QVERIFY2(std::abs(r.report.objective - direct) < 1e-3 * direct,
                 qPrintable(QString("%1 vs %2").arg(r.report.objective).arg(direct)));
        QVERIFY(std::abs(r.report.objectiveReference - reference) < 1e-4 * reference);
        QVERIFY(std::abs(r.report.objectiveRelative - direct / reference) < 1e-3 * direct / reference);
    }

    void referenceOfTallLayersIsEstimatedFromSampledRows() {
        const MatrixRM W = test::randomMatrix(1100, 48, 35, 0.05f);
        const MatrixRM X = correlatedInputs(200, 48, 36);
        const MatrixRMd H = hessianOf(X);
        const GptqResult r = quantizeGptq(W, H, {4, 16, false}, GptqOptions{});
        QVERIFY(r.report.objectiveReferenceEstimated);
        const MatrixRMd Wd = W.cast<double>();
        const double reference = (Wd * H * Wd.transpose()).trace();
        qInfo("estimated/exact tr(W H W^T) = %.4f", r.report.objectiveReference / reference);
        QVERIFY(std::abs(r.report.objectiveReference / reference - 1.0) < kReferenceEstimateTolerance);
        const MatrixRMd dW = (W - r.weight.dequantize()).cast<double>();
        const double direct = (dW * H * dW.transpose()).trace();
        QVERIFY(std::abs(r.report.objective - direct) < 1e-3 * direct);  // the objective itself stays exact
    }

    void actOrderFormsGroupsInPermutedOrder() {
        const MatrixRM W = test::randomMatrix(32, 172, 41, 0.05f);
        const MatrixRM X = correlatedInputs(300, 172, 42);
        const MatrixRMd H = hessianOf(X);
        GptqOptions o;
        o.actOrder = true;
        const GptqResult r = quantizeGptq(W, H, {4, 32, false}, o);
        // g_idx[perm[i]] = i / 32 with perm = argsort(diag H, descending): groups 0..4 hold 32 columns,
        // group 5 the 12 with the smallest diag(H).
        std::vector<int> count(6, 0);
        for (std::int32_t g : r.weight.gIdx) ++count[std::size_t(g)];
        QCOMPARE(count, std::vector<int>({32, 32, 32, 32, 32, 12}));
        std::vector<Index> perm(172);
        std::iota(perm.begin(), perm.end(), Index(0));
        std::stable_sort(perm.begin(), perm.end(), [&](Index a, Index b) { return H(a, a) > H(b, b); });
        for (Index i = 0; i < 172; ++i) QCOMPARE(r.weight.gIdx[std::size_t(perm[std::size_t(i)])], std::int32_t(i / 32));
        QVERIFY(!r.weight.hasSequentialGroups());
        const double rtnError = outputError(W, quantizeRtn(W, {4, 32, false}).dequantize(), X);
        QVERIFY(outputError(W, r.weight.dequantize(), X) < rtnError);
    }

    void staticGroupsAreFittedBeforeTheSweep() {
        // Static groups take their grids from the original W, in the original order: the scales and
        // zeros are RTN's, g_idx is sequential, even with act-order.
        const MatrixRM W = test::randomMatrix(24, 128, 51, 0.05f);
        const MatrixRMd H = hessianOf(correlatedInputs(256, 128, 52));
        GptqOptions o;
        o.staticGroups = true;
        o.actOrder = true;
        const GptqResult r = quantizeGptq(W, H, {4, 32, false}, o);
        const QuantizedWeight rtn = quantizeRtn(W, {4, 32, false});
        QCOMPARE(r.weight.scales, rtn.scales);
        QCOMPARE(r.weight.zeros, rtn.zeros);
        QVERIFY(r.weight.hasSequentialGroups());
        QVERIFY(r.weight.codes != rtn.codes);  // the sweep still compensates errors
    }

    void deadInputsAreZeroed() {
        const MatrixRM W = test::randomMatrix(16, 64, 61);
        MatrixRM X = correlatedInputs(200, 64, 62);
        X.col(5).setZero();
        X.col(40).setZero();
        const GptqResult r = quantizeGptq(W, hessianOf(X), {4, 16, false}, GptqOptions{});
        QCOMPARE(r.report.deadColumns, 2);
        const MatrixRM What = r.weight.dequantize();
        QCOMPARE(What.col(5).cwiseAbs().maxCoeff(), 0.0f);
        QCOMPARE(What.col(40).cwiseAbs().maxCoeff(), 0.0f);
    }

    void blockSizeDoesNotChangeTheResult() {
        // Lazy batching is exact: only float rounding differs between block widths.
        const MatrixRM W = test::randomMatrix(32, 150, 71, 0.05f);
        const MatrixRMd H = hessianOf(correlatedInputs(300, 150, 72));
        GptqOptions a, b;
        a.blockSize = 128;
        b.blockSize = 7;
        const GptqResult ra = quantizeGptq(W, H, {4, 32, false}, a);
        const GptqResult rb = quantizeGptq(W, H, {4, 32, false}, b);
        const double differing = double((ra.weight.codes.array() != rb.weight.codes.array()).count()) / double(W.size());
        qInfo("codes differing between B = 128 and B = 7: %.5f", differing);
        QVERIFY2(differing < 0.002, qPrintable(QString::number(differing)));
        QVERIFY(std::abs(ra.report.objective - rb.report.objective) < 0.01 * ra.report.objective);
    }

    void indefiniteHessianIncreasesDamping() {
        // 2×2 blocks [[1, 2], [2, 1]] have eigenvalue −1: λ = 0.01, 0.1 and 1 fail (H + I is
        // singular), λ = 10 succeeds — reported as data.
        MatrixRMd H = MatrixRMd::Zero(16, 16);
        for (Index i = 0; i < 16; i += 2) {
            H(i, i) = H(i + 1, i + 1) = 1.0;
            H(i, i + 1) = H(i + 1, i) = 2.0;
        }
        const GptqResult r = quantizeGptq(test::randomMatrix(4, 16, 81), H, {4, 8, false}, GptqOptions{});
        QCOMPARE(r.report.dampingRetries, 3);
        QVERIFY(std::abs(r.report.damping - 10.0) < 1e-12);
    }

    void hessianOverSeveralTilesAndChunksIsTheDoubleProduct() {
        // 600 inputs: a full 512-wide tile and a ragged one (an sgemm tile below the diagonal,
        // ssyrk on it); 4,200 rows in two calls, the first over the 4,096-row chunk.
        const MatrixRM X = correlatedInputs(4200, 600, 61);
        MatrixRMd H;
        long n = 0;
        accumulateHessian(X.topRows(4100), H, n);
        accumulateHessian(X.bottomRows(100), H, n);
        const MatrixRMd Xd = X.cast<double>();
        const MatrixRMd ref = 2.0 / 4200.0 * Xd.transpose() * Xd;
        QVERIFY((H - ref).cwiseAbs().maxCoeff() < 1e-6 * ref.cwiseAbs().maxCoeff());
        QVERIFY(H == H.transpose());  // the upper triangle is the lower one, exactly
    }

    void floatFactorOfWideLayersKeepsTheDoublePathsObjective() {
        // A 1,024-input layer takes the float factorisation (spotrf + strtri) by default. On
        // ill-conditioned inputs (8 shared factors: κ ≈ 1e5 after 1 % damping) its codes'
        // output error ‖(W − Ŵ)Xᵀ‖² moves against the double path's by −0.74 … +0.97 % over 8
        // seeds (mean +0.21 %); on these 2: +0.76, −0.74 %. A 1e-7 relative
        // perturbation of H — the rounding its float accumulation carries — moves it by
        // −0.55 … +0.22 %. Pinned: each within 2 %, their mean within 0.5 %.
        double sum = 0.0;
        bool anyDiffers = false;
        for (unsigned seed : {131u, 141u}) {
            const MatrixRM X = correlatedInputs(3072, 1024, seed);
            const MatrixRM W = test::randomMatrix(48, 1024, seed + 1) * 0.02f;
            const MatrixRMd H = hessianOf(X);
            const WeightGridSpec spec{4, 128, false};
            const GptqResult f = quantizeGptq(W, H, spec, GptqOptions{});
            const GptqResult d = quantizeGptq(W, H, spec, GptqOptions{}, RunContext(), GptqFactorMode::Double);
            QVERIFY(f.report.factorInFloat);
            QVERIFY(!d.report.factorInFloat);
            const double errFloat = outputError(W, f.weight.dequantize(), X);
            const double errDouble = outputError(W, d.weight.dequantize(), X);
            const double errRtn = outputError(W, quantizeRtn(W, spec).dequantize(), X);
            qInfo("seed %u: output error float %.6e, double %.6e (RTN %.6e)", seed, errFloat, errDouble, errRtn);
            QVERIFY(std::abs(errFloat / errDouble - 1.0) <= 0.02);
            QVERIFY(errDouble < 0.05 * errRtn);
            sum += errFloat / errDouble - 1.0;
            anyDiffers = anyDiffers || f.weight.codes != d.weight.codes;
        }
        QVERIFY(anyDiffers);  // the float factor is really used
        QVERIFY(std::abs(sum / 2.0) <= 0.005);
    }

    void narrowLayersFactorInDouble() {
        const MatrixRM X = correlatedInputs(400, 96, 151);
        const GptqResult r = quantizeGptq(test::randomMatrix(16, 96, 152), hessianOf(X), {4, 32, false}, GptqOptions{});
        QVERIFY(!r.report.factorInFloat);
    }

    void hessianIsTheRunningAverage() {
        const MatrixRM X = test::randomMatrix(300, 20, 91);
        MatrixRMd H;
        long n = 0;
        accumulateHessian(X.topRows(100), H, n);
        accumulateHessian(X.middleRows(100, 150), H, n);
        accumulateHessian(X.bottomRows(50), H, n);
        QCOMPARE(n, 300L);
        const MatrixRMd ref = 2.0 / 300.0 * X.cast<double>().transpose() * X.cast<double>();
        QVERIFY((H - ref).cwiseAbs().maxCoeff() < 1e-6 * ref.cwiseAbs().maxCoeff());
        QVERIFY_THROWS_EXCEPTION(Error, accumulateHessian(test::randomMatrix(3, 21, 1), H, n));
    }

    void rejectsMismatchedShapesAndStops() {
        const MatrixRM W = test::randomMatrix(8, 32, 1);
        QVERIFY_THROWS_EXCEPTION(Error, quantizeGptq(W, MatrixRMd::Identity(31, 31), {4, 8, false}, GptqOptions{}));
        GptqOptions bad;
        bad.blockSize = 0;
        QVERIFY_THROWS_EXCEPTION(Error, quantizeGptq(W, MatrixRMd::Identity(32, 32), {4, 8, false}, bad));
        RunContext ctx;
        ctx.requestStop();
        QVERIFY_THROWS_EXCEPTION(Cancelled, quantizeGptq(W, MatrixRMd::Identity(32, 32), {4, 8, false}, GptqOptions{}, ctx));
    }
};

QTEST_APPLESS_MAIN(TestGptq)
#include "test_gptq.moc"

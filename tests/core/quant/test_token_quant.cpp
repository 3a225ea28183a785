// The per-token activation quantizer of OmniQuant's weight-activation schemes (token_quant.h):
// a row worked by hand from the official quantizer's formulas, the float in-place path equal to
// the template, the straight-through backward against finite differences of the frozen
// surrogate, and QuantizedLinear quantizing its input rows with it.
#include <QtTest>

#include <random>

#include "core/quant/quantized_weight.h"
#include "core/quant/rtn.h"
#include "core/quant/token_quant.h"
#include "core/util/error.h"

using namespace qb::core;

namespace {

using Md = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Md randomRows(Index n, Index k, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> d(0.0, 1.0);
    Md m(n, k);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = d(rng);
    return m;
}

}  // namespace

class TestTokenQuant : public QObject {
    Q_OBJECT
private slots:
    // x = [−1, 0, 0.5, 2] at 2 bits: h = (2 − (−1))/3 = 1, z = ⌊1⌉ = 1; codes ⌊x/h⌉ + z =
    // 0, 1, 1 (0.5 rounds half to even, as torch.round), 3 → x̂ = (q − z)·h = −1, 0, 0, 2.
    void aRowByHand() {
        Md x(1, 4);
        x << -1.0, 0.0, 0.5, 2.0;
        TokenRounding<double> rd;
        const Md xq = tokenFakeQuantize<double>(x, 2, &rd);
        Md want(1, 4);
        want << -1.0, 0.0, 0.0, 2.0;
        QCOMPARE(xq, want);
        QCOMPARE(rd.step(0), 1.0);
        QCOMPARE(rd.zero(0), 1.0);
        QCOMPARE(rd.argMin[0], Index(0));
        QCOMPARE(rd.argMax[0], Index(3));
    }
    // A row that does not hold 0 keeps its own range (the official code does not widen it):
    // x = [1, 2, 4] at 2 bits: h = 1, z = ⌊−1⌉ = −1, codes 0, 1, 3 → x̂ = 1, 2, 4.
    void aRangeWithoutZero() {
        Md x(1, 3);
        x << 1.0, 2.0, 4.0;
        QCOMPARE(tokenFakeQuantize<double>(x, 2), x);
    }
    // Each row has its own step: scaling one row by 1000 leaves the other's x̂ unchanged.
    void rowsAreIndependent() {
        Md x = randomRows(2, 16, 3);
        const Md a = tokenFakeQuantize<double>(x, 4);
        x.row(1) *= 1000.0;
        const Md b = tokenFakeQuantize<double>(x, 4);
        QCOMPARE(Md(a.row(0)), Md(b.row(0)));
    }
    void theFloatPathIsTheTemplate() {
        MatrixRM x = randomRows(5, 37, 4).cast<float>();
        const MatrixRM want = tokenFakeQuantize<float>(x, 4);
        fakeQuantizeTokensInPlace(x, 4);
        QCOMPARE(x, want);
    }
    void frozenRoundingReproducesTheForward() {
        const Md x = randomRows(4, 12, 5);
        TokenRounding<double> rd;
        const Md real = tokenFakeQuantize<double>(x, 3, &rd);
        QVERIFY((tokenFakeQuantize<double>(x, 3, &rd, true) - real).cwiseAbs().maxCoeff() < 1e-12);
    }
    // ∂L/∂x of L = Σ c ⊙ x̂ against central differences of the frozen surrogate, through the
    // straight-through path and the step's dependence on each row's max and min.
    void backwardMatchesFiniteDifferences() {
        for (int bits : {3, 4, 8}) {
            const Md x0 = randomRows(3, 10, 6), c = randomRows(3, 10, 7);
            TokenRounding<double> rd;
            (void)tokenFakeQuantize<double>(x0, bits, &rd);
            const Md analytic = tokenFakeQuantizeBackward<double>(rd, c, bits);
            Md numeric(x0.rows(), x0.cols()), x = x0;
            const double step = 1e-6;
            for (Index i = 0; i < x.size(); ++i) {
                x.data()[i] = x0.data()[i] + step;
                const double up = (c.array() * tokenFakeQuantize<double>(x, bits, &rd, true).array()).sum();
                x.data()[i] = x0.data()[i] - step;
                const double down = (c.array() * tokenFakeQuantize<double>(x, bits, &rd, true).array()).sum();
                x.data()[i] = x0.data()[i];
                numeric.data()[i] = (up - down) / (2 * step);
            }
            const double err = (analytic - numeric).norm() / numeric.norm();
            qInfo("a%d: relative error %.2e", bits, err);
            QVERIFY(err < 1e-6);
            // The step's path matters: without it the row's extremes would get only c.
            if (bits == 3) QVERIFY(std::abs(analytic(0, rd.argMax[0]) - c(0, rd.argMax[0])) > 1e-3);
        }
    }
    // QuantizedLinear with activation bits: Y = Q_a(X)·Ŵᵀ + b, and its label says so.
    void quantizedLinearQuantizesItsInputRows() {
        const MatrixRM W = randomRows(8, 32, 8).cast<float>();
        const MatrixRM X = randomRows(5, 32, 9).cast<float>();
        const QuantizedWeight q = quantizeRtn(W, {4, 16, false});
        const VectorF bias = VectorF::LinSpaced(8, -1.0f, 1.0f);
        const QuantizedLinear weightOnly(q, bias, "omniquant"), wa(q, bias, "omniquant", 4);
        MatrixRM Xq = X, Y, want;
        fakeQuantizeTokensInPlace(Xq, 4);
        weightOnly.forward(Xq, want);
        wa.forward(X, Y);
        QVERIFY((Y - want).cwiseAbs().maxCoeff() <= 1e-5f * want.cwiseAbs().maxCoeff());
        MatrixRM plain;
        weightOnly.forward(X, plain);
        QVERIFY((plain - Y).cwiseAbs().maxCoeff() > 1e-3f);  // the quantization is not a no-op
        QCOMPARE(QString::fromStdString(wa.format()), QString("omniquant int4 g16 a4 (simulated)"));
        QVERIFY_THROWS_EXCEPTION(Error, (void)QuantizedLinear(q, bias, "omniquant", 3));
    }
};

QTEST_APPLESS_MAIN(TestTokenQuant)
#include "test_token_quant.moc"

// LWC's fake quantization and fold, and AdamW, against formulas written out directly.
#include <QtTest>

#include <cmath>

#include "core/quant/omniquant/adamw.h"
#include "core/quant/omniquant/lwc.h"
#include "core/quant/quant_grid.h"
#include "core/quant/rtn.h"
#include "support/test_support.h"

using namespace qb::core;
using namespace qb::core::omniquant;

namespace {

// RTN on the range [σ(a)·max, σ(b)·min] of each group, spelled out with QuantGrid.
QuantizedWeight clippedRtn(const MatrixRM& W, const WeightGridSpec& spec, float a, float b) {
    const QuantGrid grid(spec.bits, spec.sym);
    QuantizedWeight Q = QuantizedWeight::allocate(W.rows(), W.cols(), spec);
    const Index width = groupWidth(W.cols(), spec.groupSize);
    const float gamma = 1.0f / (1.0f + std::exp(-a)), beta = 1.0f / (1.0f + std::exp(-b));
    for (Index r = 0; r < W.rows(); ++r)
        for (Index k = 0; k < Q.groups(); ++k) {
            const Index c0 = k * width, n = std::min(W.cols(), c0 + width) - c0;
            const auto seg = W.row(r).segment(c0, n);
            const GroupParams p = grid.paramsForRange(beta * seg.minCoeff(), gamma * seg.maxCoeff());
            Q.scales(r, k) = p.scale;
            Q.zeros(r, k) = std::int32_t(p.zero);
            for (Index c = c0; c < c0 + n; ++c) Q.codes(r, c) = grid.code(W(r, c), p);
        }
    return Q;
}

void compareExactly(const QuantizedWeight& got, const QuantizedWeight& want) {
    QCOMPARE(got.codes, want.codes);
    QCOMPARE(got.scales, want.scales);
    QCOMPARE(got.zeros, want.zeros);
}

}  // namespace

class TestLwc : public QObject {
    Q_OBJECT
private slots:
    void specs_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<int>("group");  // −1: one group per row
        QTest::addColumn<bool>("sym");
        QTest::newRow("w4 g32") << 4 << 32 << false;
        QTest::newRow("w3 g32") << 3 << 32 << false;
        QTest::newRow("w3 per-row") << 3 << -1 << false;
        QTest::newRow("w2 g32") << 2 << 32 << false;
        QTest::newRow("w4 g32 sym") << 4 << 32 << true;
        QTest::newRow("w4 g24, trailing partial group") << 4 << 24 << false;
    }

    // Zero training steps: the fold is RTN on the initial clipping [σ(4)·min, σ(4)·max].
    void initialClippingIsClippedRtn_data() { specs_data(); }
    void initialClippingIsClippedRtn() {
        QFETCH(int, bits);
        QFETCH(int, group);
        QFETCH(bool, sym);
        const WeightGridSpec spec{bits, group > 0 ? std::optional<int>(group) : std::nullopt, sym};
        const MatrixRM W = qb::test::randomMatrix(40, 100, 3, 0.05f);
        const auto lw = lwcWeightOf<float>(W, spec);
        compareExactly(lwcQuantize(lw, initialLwcParams<float>(40, 100, spec)), clippedRtn(W, spec, 4.0f, 4.0f));
    }

    // No clipping (σ(a) = σ(b) = 1 in float): exactly quantizeRtn.
    void noClippingIsRtn_data() { specs_data(); }
    void noClippingIsRtn() {
        QFETCH(int, bits);
        QFETCH(int, group);
        QFETCH(bool, sym);
        const WeightGridSpec spec{bits, group > 0 ? std::optional<int>(group) : std::nullopt, sym};
        const MatrixRM W = qb::test::randomMatrix(40, 100, 4, 0.05f);
        compareExactly(lwcQuantize(lwcWeightOf<float>(W, spec), initialLwcParams<float>(40, 100, spec, 40.0)), quantizeRtn(W, spec));
    }

    // The training forward's Ŵ is the folded weight, bit for bit, for any (a, b).
    void fakeQuantizationIsTheFoldedWeight_data() { specs_data(); }
    void fakeQuantizationIsTheFoldedWeight() {
        QFETCH(int, bits);
        QFETCH(int, group);
        QFETCH(bool, sym);
        const WeightGridSpec spec{bits, group > 0 ? std::optional<int>(group) : std::nullopt, sym};
        const MatrixRM W = qb::test::randomMatrix(40, 100, 5, 0.05f);
        const auto lw = lwcWeightOf<float>(W, spec);
        auto params = initialLwcParams<float>(40, 100, spec);
        params.a = params.a + qb::test::randomMatrix(params.a.rows(), params.a.cols(), 6, 1.5f);
        params.b = params.b + qb::test::randomMatrix(params.b.rows(), params.b.cols(), 7, 1.5f);
        LwcRounding<float> rounding;
        const MatrixRM What = lwcFakeQuantize(lw, params, rounding);
        QCOMPARE(What, lwcQuantize(lw, params).dequantize());
    }

    // Two AdamW steps against the update rule written out (bias-corrected moments, no decay).
    void adamwFollowsTheUpdateRule() {
        AdamW opt(1, 2, {.lr = 0.1});
        MatrixS<float> theta(1, 2), g1(1, 2), g2(1, 2);
        theta << 1.0f, -2.0f;
        g1 << 0.5f, -0.25f;
        g2 << -1.0f, 0.75f;
        opt.step(theta, g1);
        // step 1: m̂ = g, v̂ = g², so θ −= lr·g/(|g| + ε)
        QVERIFY(std::abs(theta(0, 0) - (1.0f - 0.1f * 0.5f / (0.5f + 1e-8f))) < 1e-6f);
        QVERIFY(std::abs(theta(0, 1) - (-2.0f + 0.1f * 0.25f / (0.25f + 1e-8f))) < 1e-6f);
        const MatrixS<float> before = theta;
        opt.step(theta, g2);
        for (int i = 0; i < 2; ++i) {
            const double m = 0.9 * 0.1 * g1(0, i) + 0.1 * g2(0, i);
            const double v = 0.999 * 0.001 * g1(0, i) * g1(0, i) + 0.001 * g2(0, i) * g2(0, i);
            const double want = before(0, i) - 0.1 * (m / (1 - 0.81)) / (std::sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
            QVERIFY(std::abs(theta(0, i) - want) < 1e-6);
        }
        QCOMPARE(opt.steps(), 2);
    }
};

QTEST_APPLESS_MAIN(TestLwc)
#include "test_lwc.moc"

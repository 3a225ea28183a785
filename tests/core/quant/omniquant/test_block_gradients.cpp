// The hand-written backward of the decoder block (core/quant/omniquant) against central finite
// differences in double precision, for every parameter group: the clipping parameters a and b
// of each of the seven linears, and the block input x. The fake quantization's rounding is
// frozen at the base point (lwc.h), so the surrogate differentiated by finite differences is
// exactly the straight-through estimator the backward implements. With activation bits, the
// per-token quantizers' decisions are frozen the same way (token_quant.h), and the RMSNorm
// gains' gradients (what LET's scales reach the norms through) are checked too.
#include <QtTest>

#include <cmath>
#include <random>

#include "core/model/rope.h"
#include "core/quant/omniquant/block_backward.h"
#include "core/quant/omniquant/lwc.h"

using namespace qb::core;
using namespace qb::core::omniquant;

namespace {

using Md = MatrixS<double>;
using Vd = VectorS<double>;

constexpr double kMaxRelativeError = 1e-5;  // the bound, per parameter group
constexpr double kStep = 1e-6;              // central-difference step

Md randomMatrix(Index rows, Index cols, std::mt19937& rng, double stddev) {
    std::normal_distribution<double> n(0.0, stddev);
    Md m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = n(rng);
    return m;
}

// A small random block: D = 16, H = 4, Hkv = 2 (GQA), d = 4, I = 24, windows of T = 6.
struct Problem {
    BlockShape<double> shape;
    BlockWeights<double> weights;  // float weights W (the fake-quantized ones are put in per evaluation)
    std::array<LwcWeight<double>, 7> lwc;
    std::array<LwcParams<double>, 7> params;
    std::array<LwcRounding<double>, 7> rounding;
    Md x, target;
    BlockCache<double> actDecisions;  // the token quantizers' decisions of the recorded forward

    // L = mean((y − target)²) with Ŵ = Q(W; a, b) and the rounding frozen or recorded.
    double loss(bool frozen, BlockCache<double>& cache, BlockWeights<double>& w) {
        w = weights;
        for (ModuleKind k : kAllModuleKinds)
            w.weight(k) = lwcFakeQuantize(lwc[std::size_t(k)], params[std::size_t(k)], rounding[std::size_t(k)], frozen);
        if (frozen) cache.takeActivationRounding(actDecisions);
        const Md y = blockForward(shape, w, x, cache, frozen);
        if (!frozen) actDecisions = cache;
        return (y - target).squaredNorm() / double(y.size());
    }
    double loss() {
        BlockCache<double> c;
        BlockWeights<double> w;
        return loss(true, c, w);
    }
};

Problem makeProblem(int bits, bool sym, bool qwenNorms, int slidingWindow, bool bias, int actBits = 0) {
    std::mt19937 rng(7);
    const Index D = 16, d = 4, I = 24, T = 6, windows = 2;
    const int H = 4, Hkv = 2;
    Problem p;
    p.shape.attention = {H, Hkv, int(d), T, slidingWindow};
    p.shape.rmsNormEps = 1e-5;
    p.shape.rope = ropeTable<double>(plainRopeFrequencies(int(d), 10000.0), T);
    p.shape.actBits = actBits;
    auto& w = p.weights;
    w.inputNorm = Vd::Ones(D) + 0.1 * randomMatrix(D, 1, rng, 1.0);
    w.postAttentionNorm = Vd::Ones(D) + 0.1 * randomMatrix(D, 1, rng, 1.0);
    if (qwenNorms) {
        w.qNorm = Vd::Ones(d) + 0.1 * randomMatrix(d, 1, rng, 1.0);
        w.kNorm = Vd::Ones(d) + 0.1 * randomMatrix(d, 1, rng, 1.0);
    }
    const std::array<std::pair<Index, Index>, 7> shapes = {{{H * d, D}, {Hkv * d, D}, {Hkv * d, D}, {D, H * d}, {I, D}, {I, D}, {D, I}}};
    const WeightGridSpec spec{bits, 8, sym};
    std::uniform_real_distribution<double> init(2.0, 5.0);  // a, b spread around the official 4.0
    for (ModuleKind k : kAllModuleKinds) {
        const auto [out, in] = shapes[std::size_t(k)];
        w.weight(k) = randomMatrix(out, in, rng, 0.5);
        if (bias) w.bias[std::size_t(k)] = Vd(randomMatrix(out, 1, rng, 0.1));
        p.lwc[std::size_t(k)] = lwcWeightOf<double>(w.weight(k), spec);
        p.params[std::size_t(k)] = initialLwcParams<double>(out, in, spec);
        for (Index i = 0; i < p.params[std::size_t(k)].a.size(); ++i) {
            p.params[std::size_t(k)].a.data()[i] = init(rng);
            p.params[std::size_t(k)].b.data()[i] = init(rng);
        }
    }
    p.x = randomMatrix(windows * T, D, rng, 1.0);
    p.target = randomMatrix(windows * T, D, rng, 1.0);
    return p;
}

// ‖g − g_fd‖ / ‖g_fd‖ with g_fd from central differences of loss() over every entry of theta.
double relativeError(Problem& p, Md& theta, const Md& analytic) {
    Md numeric(theta.rows(), theta.cols());
    for (Index i = 0; i < theta.size(); ++i) {
        const double saved = theta.data()[i];
        theta.data()[i] = saved + kStep;
        const double up = p.loss();
        theta.data()[i] = saved - kStep;
        const double down = p.loss();
        theta.data()[i] = saved;
        numeric.data()[i] = (up - down) / (2.0 * kStep);
    }
    return (analytic - numeric).norm() / numeric.norm();
}

}  // namespace

class TestBlockGradients : public QObject {
    Q_OBJECT
private slots:
    void matchFiniteDifferences_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("sym");
        QTest::addColumn<bool>("qwenNorms");
        QTest::addColumn<int>("slidingWindow");
        QTest::addColumn<bool>("bias");
        QTest::addColumn<int>("actBits");
        QTest::newRow("llama w3 asym") << 3 << false << false << 0 << false << 0;
        QTest::newRow("llama w4 sym") << 4 << true << false << 0 << false << 0;
        QTest::newRow("w2 asym, qwen3 head norms, bias, sliding window 3") << 2 << false << true << 3 << true << 0;
        QTest::newRow("llama w4 asym a4 (per-token activations)") << 4 << false << false << 0 << false << 4;
        QTest::newRow("w3 sym a6, qwen3 head norms, bias") << 3 << true << true << 0 << true << 6;
    }
    void matchFiniteDifferences() {
        QFETCH(int, bits);
        QFETCH(bool, sym);
        QFETCH(bool, qwenNorms);
        QFETCH(int, slidingWindow);
        QFETCH(bool, bias);
        QFETCH(int, actBits);
        Problem p = makeProblem(bits, sym, qwenNorms, slidingWindow, bias, actBits);

        // Analytic: forward (recording the rounding), ∂L/∂y = 2(y − target)/N, backward, LWC backward.
        BlockCache<double> cache;
        BlockWeights<double> w;
        p.loss(false, cache, w);
        const Md y = blockForward(p.shape, w, p.x, cache);
        const Md dy = 2.0 * (y - p.target) / double(y.size());
        BlockGradientRequest all;
        all.weight.fill(true);
        all.input = all.norms = true;
        const BlockGradients<double> g = blockBackward(p.shape, w, cache, dy, all);

        int clamped = 0;  // the check must cover clamped codes too
        for (ModuleKind k : kAllModuleKinds) {
            const auto i = std::size_t(k);
            for (Index e = 0; e < p.rounding[i].clamp.size(); ++e) clamped += p.rounding[i].clamp.data()[e] != LwcClamp::Inside;
            Md da, db;
            lwcBackward(p.lwc[i], p.rounding[i], g.dW[i], da, db);
            const double errA = relativeError(p, p.params[i].a, da);
            const double errB = relativeError(p, p.params[i].b, db);
            qInfo("%s: a %.2e, b %.2e", moduleSuffix(k).c_str(), errA, errB);
            QVERIFY2(errA <= kMaxRelativeError, (moduleSuffix(k) + " a").c_str());
            QVERIFY2(errB <= kMaxRelativeError, (moduleSuffix(k) + " b").c_str());
        }
        const double errX = relativeError(p, p.x, g.dx);
        qInfo("input x: %.2e; clamped codes: %d", errX, clamped);
        QVERIFY(errX <= kMaxRelativeError);
        QVERIFY(clamped > 0);
        // The gains are vectors in p.weights, which loss() reads: central differences on them in place.
        const auto normError = [&](VectorS<double>& field, const VectorS<double>& analytic) {
            Md numeric(field.size(), 1);
            for (Index i = 0; i < field.size(); ++i) {
                const double saved = field(i);
                field(i) = saved + kStep;
                const double up = p.loss();
                field(i) = saved - kStep;
                const double down = p.loss();
                field(i) = saved;
                numeric(i) = (up - down) / (2.0 * kStep);
            }
            return (Md(analytic) - numeric).norm() / numeric.norm();
        };
        const double errG1 = normError(p.weights.inputNorm, g.dInputNorm);
        const double errG2 = normError(p.weights.postAttentionNorm, g.dPostAttentionNorm);
        qInfo("norm gains: g1 %.2e, g2 %.2e", errG1, errG2);
        QVERIFY(errG1 <= kMaxRelativeError);
        QVERIFY(errG2 <= kMaxRelativeError);
    }

    // The frozen surrogate is the real fake quantization at the base point: same Ŵ.
    void frozenRoundingReproducesTheQuantizedWeight() {
        Problem p = makeProblem(3, false, false, 0, false);
        for (ModuleKind k : kAllModuleKinds) {
            const auto i = std::size_t(k);
            const Md real = lwcFakeQuantize(p.lwc[i], p.params[i], p.rounding[i], false);
            const Md frozen = lwcFakeQuantize(p.lwc[i], p.params[i], p.rounding[i], true);
            QVERIFY((real - frozen).cwiseAbs().maxCoeff() < 1e-12);
        }
    }
};

QTEST_APPLESS_MAIN(TestBlockGradients)
#include "test_block_gradients.moc"

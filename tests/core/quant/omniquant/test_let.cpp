// LET (let.h) on a small random block with GQA (H = 4, Hkv = 2) and a v bias: the
// transformation is exact in float, its initial scales are the official formula, and the scale
// gradients — through the clipping's quantizer on W̃ and the per-token activation quantizers —
// match central finite differences of the frozen surrogate (double precision). foldLet on a
// layer of the bundled model leaves the layer's function unchanged.
#include <QtTest>

#include <cmath>
#include <random>

#include "core/model/rope.h"
#include "core/quant/omniquant/block_backward.h"
#include "core/quant/omniquant/let.h"
#include "core/quant/omniquant/lwc.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb::core;
using namespace qb::core::omniquant;

namespace {

using Md = MatrixS<double>;
using Vd = VectorS<double>;

Md randomMatrix(Index rows, Index cols, std::mt19937& rng, double stddev) {
    std::normal_distribution<double> n(0.0, stddev);
    Md m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = n(rng);
    return m;
}
Vd positive(Index n, std::mt19937& rng) {
    std::uniform_real_distribution<double> u(0.5, 2.0);
    Vd v(n);
    for (Index i = 0; i < n; ++i) v(i) = u(rng);
    return v;
}

// D = 16, H = 4, Hkv = 2, d = 4, I = 24, two windows of T = 6; a bias on v only.
struct Problem {
    BlockShape<double> shape;
    BlockWeights<double> fp;
    LetScales<double> s;
    WeightGridSpec spec{4, 8, false};
    std::array<LwcParams<double>, 7> params;
    std::array<LwcRounding<double>, 7> rounding;
    BlockCache<double> actDecisions;
    Md x, target;

    // L(s) = mean((F(Q_w(LET(W; s)), Q_a) − target)²); frozen replays every rounding.
    double loss(bool frozen, BlockCache<double>* out = nullptr, BlockWeights<double>* used = nullptr) {
        BlockWeights<double> w = applyLet(fp, s, shape.attention);
        for (ModuleKind k : kAllModuleKinds) {
            const auto i = std::size_t(k);
            w.weight(k) = lwcFakeQuantize(lwcWeightOf<double>(w.weight(k), spec), params[i], rounding[i], frozen);
        }
        BlockCache<double> cache;
        if (frozen) cache.takeActivationRounding(actDecisions);
        const Md y = blockForward(shape, w, x, cache, frozen);
        if (!frozen) actDecisions = cache;
        if (out) *out = cache;
        if (used) *used = w;
        return (y - target).squaredNorm() / double(y.size());
    }
};

Problem makeProblem(int actBits) {
    std::mt19937 rng(11);
    const Index D = 16, d = 4, I = 24, T = 6;
    const int H = 4, Hkv = 2;
    Problem p;
    p.shape.attention = {H, Hkv, int(d), T, 0};
    p.shape.rmsNormEps = 1e-5;
    p.shape.rope = ropeTable<double>(plainRopeFrequencies(int(d), 10000.0), T);
    p.shape.actBits = actBits;
    p.fp.inputNorm = Vd::Ones(D) + 0.1 * Vd(randomMatrix(D, 1, rng, 1.0));
    p.fp.postAttentionNorm = Vd::Ones(D) + 0.1 * Vd(randomMatrix(D, 1, rng, 1.0));
    const std::array<std::pair<Index, Index>, 7> shapes = {{{H * d, D}, {Hkv * d, D}, {Hkv * d, D}, {D, H * d}, {I, D}, {I, D}, {D, I}}};
    for (ModuleKind k : kAllModuleKinds) {
        const auto [out, in] = shapes[std::size_t(k)];
        p.fp.weight(k) = randomMatrix(out, in, rng, 0.5);
        p.params[std::size_t(k)] = initialLwcParams<double>(out, in, p.spec);
    }
    p.fp.bias[std::size_t(ModuleKind::V)] = Vd(randomMatrix(Hkv * d, 1, rng, 0.1));
    p.s = {positive(D, rng), positive(D, rng), positive(Hkv * d, rng)};
    p.x = randomMatrix(2 * T, D, rng, 1.0);
    p.target = randomMatrix(2 * T, D, rng, 1.0);
    return p;
}

double relativeError(Problem& p, Vd& theta, const Vd& analytic) {
    Vd numeric(theta.size());
    const double step = 1e-6;
    for (Index i = 0; i < theta.size(); ++i) {
        const double saved = theta(i);
        theta(i) = saved + step;
        const double up = p.loss(true);
        theta(i) = saved - step;
        const double down = p.loss(true);
        theta(i) = saved;
        numeric(i) = (up - down) / (2 * step);
    }
    return (analytic - numeric).norm() / numeric.norm();
}

}  // namespace

class TestLet : public QObject {
    Q_OBJECT
private slots:
    // Without quantizers the transformed block computes the same function, GQA and v bias included.
    void theTransformationIsExact() {
        Problem p = makeProblem(0);
        BlockCache<double> c;
        const Md y = blockForward(p.shape, p.fp, p.x, c);
        const Md yLet = blockForward(p.shape, applyLet(p.fp, p.s, p.shape.attention), p.x, c);
        QVERIFY((y - yLet).norm() <= 1e-12 * y.norm());
        // …and it moves the weights: a no-op would pass the line above too.
        QVERIFY((applyLet(p.fp, p.s, p.shape.attention).weight(ModuleKind::O) - p.fp.weight(ModuleKind::O)).norm() > 0.1);
    }

    // s = max(act^α / max|W|^(1−α), 1e-5); out reduces both over the two query heads of a kv head.
    void initialScalesAreTheOfficialFormula() {
        Problem p = makeProblem(0);
        std::mt19937 rng(3);
        LetActivationMax<double> act{positive(16, rng), positive(16, rng), positive(16, rng)};
        const LetScales<double> s = initialLetScales(p.fp, p.shape.attention, act, 0.5, true, true, true);
        const double wq0 = p.fp.weight(ModuleKind::Q).col(0).cwiseAbs().maxCoeff();
        QCOMPARE(s.qkv(0), std::sqrt(act.qkv(0)) / std::sqrt(wq0));
        const double wu3 = p.fp.weight(ModuleKind::Up).col(3).cwiseAbs().maxCoeff();
        QCOMPARE(s.fc1(3), std::sqrt(act.fc1(3)) / std::sqrt(wu3));
        // kv channel (head 1, c = 2) is read by o_proj's columns (head 2, 2) = 10 and (head 3, 2) = 14.
        const auto& Wo = p.fp.weight(ModuleKind::O);
        const double a = std::max(act.out(10), act.out(14));
        const double w = std::max(Wo.col(10).cwiseAbs().maxCoeff(), Wo.col(14).cwiseAbs().maxCoeff());
        QCOMPARE(s.out(6), std::sqrt(a) / std::sqrt(w));
        QCOMPARE(s.out.size(), Index(8));
        const LetScales<double> none = initialLetScales(p.fp, p.shape.attention, act, 0.5, false, true, false);
        QCOMPARE(none.qkv.size(), Index(0));
    }

    void scaleGradientsMatchFiniteDifferences_data() {
        QTest::addColumn<int>("actBits");
        QTest::newRow("w4 a4") << 4;
        QTest::newRow("w4 a8") << 8;
        QTest::newRow("w4, float activations") << 0;
    }
    void scaleGradientsMatchFiniteDifferences() {
        QFETCH(int, actBits);
        Problem p = makeProblem(actBits);
        BlockCache<double> cache;
        BlockWeights<double> used;
        p.loss(false, &cache, &used);  // records the roundings
        const Md y = blockForward(p.shape, used, p.x, cache);
        const Md dy = 2.0 * (y - p.target) / double(y.size());
        BlockGradientRequest all;
        all.weight.fill(true);
        all.norms = true;
        const BlockGradients<double> g = blockBackward(p.shape, used, cache, dy, all);
        const BlockWeights<double> tilde = applyLet(p.fp, p.s, p.shape.attention);
        std::array<Md, 7> dWtilde;
        for (ModuleKind k : kAllModuleKinds) {
            const auto i = std::size_t(k);
            dWtilde[i] = lwcWeightBackward(lwcWeightOf<double>(tilde.weight(k), p.spec), p.rounding[i], g.dW[i]);
        }
        const LetScales<double> ds = letBackward(p.fp, p.s, p.shape.attention, dWtilde, g.dBias[std::size_t(ModuleKind::V)],
                                                 g.dInputNorm, g.dPostAttentionNorm);
        const double eQkv = relativeError(p, p.s.qkv, ds.qkv), eFc1 = relativeError(p, p.s.fc1, ds.fc1),
                     eOut = relativeError(p, p.s.out, ds.out);
        qInfo("a%d: s_qkv %.2e, s_fc1 %.2e, s_out %.2e", actBits, eQkv, eFc1, eOut);
        QVERIFY(eQkv <= 1e-5);
        QVERIFY(eFc1 <= 1e-5);
        QVERIFY(eOut <= 1e-5);
    }

    void truncationKeepsTheSign() {
        LetScales<double> s{Vd(3), Vd(), Vd()};
        s.qkv << 0.001, -0.004, 0.0;
        truncateLetScales(s);
        QCOMPARE(s.qkv(0), 1e-2);
        QCOMPARE(s.qkv(1), -1e-2);
        QCOMPARE(s.qkv(2), 1e-2);
    }

    // Folding the scales into a layer of the bundled model leaves its output unchanged.
    void foldingKeepsTheLayersFunction() {
        const auto model = qb::test::bundledModel();
        const ModelConfig& c = model->config();
        DecoderLayer L = *model->layer(2);
        std::mt19937 rng(5);
        LetScales<float> s{positive(c.hiddenSize, rng).cast<float>(), positive(c.hiddenSize, rng).cast<float>(),
                           positive(Index(c.numKvHeads) * c.headDim, rng).cast<float>()};
        const Index T = 32;
        foldLet(L, s, {c.numHeads, c.numKvHeads, c.headDim, T, c.windowOfLayer(2)});
        MatrixRM x = randomMatrix(T, c.hiddenSize, rng, 1.0).cast<float>();
        MatrixRM y = x, yLet = x;
        runDecoderLayer(c, *model->layer(2), y, T);
        runDecoderLayer(c, L, yLet, T);
        QVERIFY((y - yLet).norm() <= 1e-5f * y.norm());
        QVERIFY((L.inputNorm - model->layer(2)->inputNorm).norm() > 0.1f);
    }
};

QTEST_APPLESS_MAIN(TestLet)
#include "test_let.moc"

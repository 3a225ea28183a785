// The forward's building blocks against their textbook formulas, evaluated in double:
// RMSNorm, rotate-half RoPE and causal grouped-query attention.
#include <QtTest>

#include <cmath>

#include "core/model/attention.h"
#include "core/model/decoder_layer.h"
#include "support/test_support.h"

using namespace qb;
using core::Index;
using core::MatrixRM;
using core::MatrixRMd;

namespace {

// Float kernels vs double references on O(1) data: a few float ulps after a reduction of ≤ 100 terms.
constexpr double kRmsNormTolerance = 2e-6;
constexpr double kRopeTolerance = 2e-5;       // angles up to 299 rad: cos/sin rounded to float
constexpr double kAttentionTolerance = 2e-6;  // softmax-weighted averages of N(0,1) values

double maxAbsDiff(const MatrixRM& a, const MatrixRMd& b) { return (a.cast<double>() - b).cwiseAbs().maxCoeff(); }

// y = x / sqrt(mean(x²) + eps) ⊙ w, per row.
MatrixRMd rmsNormReference(const MatrixRM& x, const core::VectorF& w, double eps) {
    MatrixRMd y(x.rows(), x.cols());
    for (Index r = 0; r < x.rows(); ++r) {
        double ss = 0;
        for (Index c = 0; c < x.cols(); ++c) ss += double(x(r, c)) * x(r, c);
        const double inv = 1.0 / std::sqrt(ss / double(x.cols()) + eps);
        for (Index c = 0; c < x.cols(); ++c) y(r, c) = double(x(r, c)) * inv * w(c);
    }
    return y;
}

// Hugging Face rotate-half: for head h and i < d/2, with θ = p · base^(−2i/d),
//   out[i] = x[i] cos θ − x[i+d/2] sin θ,   out[i+d/2] = x[i+d/2] cos θ + x[i] sin θ.
MatrixRMd ropeReference(const MatrixRM& x, int heads, int d, Index T, double base) {
    MatrixRMd y = x.cast<double>();
    for (Index r = 0; r < x.rows(); ++r) {
        const double p = double(r % T);
        for (int h = 0; h < heads; ++h)
            for (int i = 0; i < d / 2; ++i) {
                const double theta = p * std::pow(base, -2.0 * i / d);
                const double a = x(r, h * d + i), b = x(r, h * d + i + d / 2);
                y(r, h * d + i) = a * std::cos(theta) - b * std::sin(theta);
                y(r, h * d + i + d / 2) = b * std::cos(theta) + a * std::sin(theta);
            }
    }
    return y;
}

// O(T²) attention: out_i = Σ_{j≤i} softmax_j(q_i·k_j / √d) v_j inside each window; query head h reads kv head h/(H/Hkv).
// window W > 0: query i sees keys j with i − W < j ≤ i (Mistral's sliding window).
MatrixRMd attentionReference(const MatrixRM& q, const MatrixRM& k, const MatrixRM& v, int H, int Hkv, int d, Index T,
                             Index W = 0) {
    MatrixRMd out = MatrixRMd::Zero(q.rows(), Index(H) * d);
    for (Index w = 0; w < q.rows() / T; ++w)
        for (int h = 0; h < H; ++h) {
            const int g = h / (H / Hkv);
            for (Index i = 0; i < T; ++i) {
                std::vector<double> s(std::size_t(i + 1), -1e300);
                double mx = -1e300;
                for (Index j = 0; j <= i; ++j) {
                    if (W > 0 && j <= i - W) continue;
                    double dot = 0;
                    for (int c = 0; c < d; ++c) dot += double(q(w * T + i, h * d + c)) * k(w * T + j, g * d + c);
                    s[std::size_t(j)] = dot / std::sqrt(double(d));
                    mx = std::max(mx, s[std::size_t(j)]);
                }
                double z = 0;
                for (auto& e : s) z += (e = e <= -1e299 ? 0.0 : std::exp(e - mx));
                for (Index j = 0; j <= i; ++j)
                    for (int c = 0; c < d; ++c) out(w * T + i, h * d + c) += s[std::size_t(j)] / z * v(w * T + j, g * d + c);
            }
        }
    return out;
}

}  // namespace

class TestModelOps : public QObject {
    Q_OBJECT
private slots:
    void rmsNormMatchesTheFormula() {
        const MatrixRM x = test::randomMatrix(300, 48, 11, 2.0f);  // > 256 rows: the parallel path
        const core::VectorF w = test::randomMatrix(48, 1, 12).col(0);
        MatrixRM y;
        core::rmsNorm(x, w, 1e-5, y);
        QCOMPARE(y.rows(), Index(300));
        QCOMPARE(y.cols(), Index(48));
        QVERIFY(maxAbsDiff(y, rmsNormReference(x, w, 1e-5)) < kRmsNormTolerance);
    }
    void rmsNormOfATinyRowIsDominatedByEps() {
        // mean(x²) = 1e-8 ≪ eps = 1e-2: y ≈ x / 0.1.
        MatrixRM x = MatrixRM::Constant(1, 4, 1e-4f);
        MatrixRM y;
        core::rmsNorm(x, core::VectorF::Ones(4), 1e-2, y);
        QVERIFY(std::abs(y(0, 0) - 1e-4f / std::sqrt(1e-8f + 1e-2f)) < 1e-9f);
    }
    void ropeMatchesTheFormula() {
        constexpr int kHeads = 4, kDim = 16;
        constexpr Index kT = 100;
        const MatrixRM x = test::randomMatrix(3 * kT, kHeads * kDim, 21);
        MatrixRM y = x;
        core::applyRope(y, kHeads, kDim, kT, 10000.0);
        QVERIFY(maxAbsDiff(y, ropeReference(x, kHeads, kDim, kT, 10000.0)) < kRopeTolerance);
    }
    void ropeLeavesPositionZeroUnchangedInEveryWindow() {
        const MatrixRM x = test::randomMatrix(3 * 10, 2 * 8, 22);
        MatrixRM y = x;
        core::applyRope(y, 2, 8, 10, 500000.0);
        for (Index w = 0; w < 3; ++w) QCOMPARE(y.row(w * 10), x.row(w * 10));
    }
    void ropeScoresDependOnlyOnTheRelativePosition() {
        // ⟨RoPE(q, m), RoPE(k, n)⟩ is a function of m − n: the same q, k at (5, 2) and (40, 37).
        constexpr int kDim = 32;
        const MatrixRM qk = test::randomMatrix(2, kDim, 23);
        MatrixRM rows(64, kDim);
        rows.setZero();
        rows.row(5) = qk.row(0);
        rows.row(2) = qk.row(1);
        rows.row(40) = qk.row(0);
        rows.row(37) = qk.row(1);
        core::applyRope(rows, 1, kDim, 64, 10000.0);
        const double near = rows.row(5).cast<double>().dot(rows.row(2).cast<double>());
        const double far = rows.row(40).cast<double>().dot(rows.row(37).cast<double>());
        QVERIFY(std::abs(near - far) < 1e-4);
    }
    void causalAttentionMatchesNaiveGqa() {
        // 4 query heads over 2 kv heads; T = 70 leaves a partial second block of 6 query rows.
        constexpr int kHeads = 4, kKvHeads = 2, kDim = 8;
        constexpr Index kT = 70, kWindows = 2;
        const MatrixRM q = test::randomMatrix(kWindows * kT, kHeads * kDim, 31);
        const MatrixRM k = test::randomMatrix(kWindows * kT, kKvHeads * kDim, 32);
        const MatrixRM v = test::randomMatrix(kWindows * kT, kKvHeads * kDim, 33);
        const MatrixRM out = core::causalAttention(q, k, v, kHeads, kKvHeads, kDim, kT);
        QCOMPARE(out.rows(), kWindows * kT);
        QCOMPARE(out.cols(), Index(kHeads * kDim));
        const double err = maxAbsDiff(out, attentionReference(q, k, v, kHeads, kKvHeads, kDim, kT));
        QVERIFY2(err < kAttentionTolerance, qPrintable(QString::number(err)));
    }
    void slidingWindowAttentionMatchesNaiveMasking() {
        // W = 13 inside T = 150: blocks of 64 query rows start past the window, and the
        // partial last block (22 rows) too.
        constexpr int kHeads = 4, kKvHeads = 2, kDim = 8;
        constexpr Index kT = 150, kW = 13;
        const MatrixRM q = test::randomMatrix(2 * kT, kHeads * kDim, 51);
        const MatrixRM k = test::randomMatrix(2 * kT, kKvHeads * kDim, 52);
        const MatrixRM v = test::randomMatrix(2 * kT, kKvHeads * kDim, 53);
        const MatrixRM out = core::causalAttention(q, k, v, kHeads, kKvHeads, kDim, kT, int(kW));
        const double err = maxAbsDiff(out, attentionReference(q, k, v, kHeads, kKvHeads, kDim, kT, kW));
        QVERIFY2(err < kAttentionTolerance, qPrintable(QString::number(err)));
        // and the window matters: full causal attention differs
        QVERIFY(maxAbsDiff(out, attentionReference(q, k, v, kHeads, kKvHeads, kDim, kT)) > 1e-2);
    }
    void firstRowOfEachWindowSeesOnlyItsOwnValue() {
        constexpr int kHeads = 4, kKvHeads = 2, kDim = 8;
        constexpr Index kT = 70;
        const MatrixRM q = test::randomMatrix(2 * kT, kHeads * kDim, 41);
        const MatrixRM k = test::randomMatrix(2 * kT, kKvHeads * kDim, 42);
        const MatrixRM v = test::randomMatrix(2 * kT, kKvHeads * kDim, 43);
        const MatrixRM out = core::causalAttention(q, k, v, kHeads, kKvHeads, kDim, kT);
        for (Index w = 0; w < 2; ++w)
            for (int h = 0; h < kHeads; ++h)
                QVERIFY((out.block(w * kT, h * kDim, 1, kDim) - v.block(w * kT, (h / 2) * kDim, 1, kDim)).cwiseAbs().maxCoeff() <
                        1e-6f);
    }
};

QTEST_APPLESS_MAIN(TestModelOps)
#include "test_model_ops.moc"

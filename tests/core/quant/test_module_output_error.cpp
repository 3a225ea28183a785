// A module's relative output error, ‖X ΔWᵀ‖² / ‖X Wᵀ‖² with ΔW = W − Ŵ, as quantize reports it
// (ModuleReport::relativeError). For a weight-only module whose group captured H = 2/n·XᵀX it is
// computed through H, over every calibration row, while in_features < 2 × rows; otherwise on the rows
// kept. The expected values are the definition evaluated in double on X itself.
#include <QtTest>

#include <omp.h>

#include <stdexcept>
#include <thread>

#include "core/quant/group_capture.h"
#include "core/quant/module_quantizer.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/rtn.h"
#include "support/test_support.h"

using namespace qb::core;
using qb::test::randomMatrix;

namespace {

// Calibration-like inputs [n, in]: correlated channels (Z·A) with two outlier channels.
MatrixRM inputs(Index n, Index in, unsigned seed) {
    MatrixRM X = randomMatrix(n, in, seed) * randomMatrix(in, in, seed + 1, 0.3f);
    X.col(3) *= 20.0f;
    X.col(in - 5) *= 8.0f;
    return X;
}

// The definition in double on the rows given.
double directRelativeError(const MatrixRM& X, const MatrixRM& W, const MatrixRM& What) {
    const Eigen::MatrixXd Xd = X.cast<double>();
    const double reference = (Xd * W.cast<double>().transpose()).squaredNorm();
    return (Xd * (W - What).cast<double>().transpose()).squaredNorm() / reference;
}

// Streams X into a capture in batches of 100 rows, as the pipeline's forward does.
GroupCapture captureOf(const MatrixRM& X, Index maxRows, bool wantHessian) {
    GroupCapture capture("m", X.cols(), X.rows(), maxRows, wantHessian);
    for (Index b = 0; b < X.rows(); b += 100) capture.observe("m", X.middleRows(b, std::min<Index>(100, X.rows() - b)));
    capture.finish();
    return capture;
}

// Every stride-th row of X, the rows a capture with that stride keeps.
MatrixRM strided(const MatrixRM& X, Index stride) {
    MatrixRM out((X.rows() + stride - 1) / stride, X.cols());
    for (Index r = 0; r < out.rows(); ++r) out.row(r) = X.row(r * stride);
    return out;
}

// The figures of a 3-bit g32 module [40, 64] whose input channel 7 is loud only on the rows a
// capture of stride 6 drops (rows / maxRows rounds up to 6): the kept rows' figure, every
// row's, and what relativeOutputError reports. The first two differ by more than 1 %.
struct Figures {
    double kept = 0.0, all = 0.0, got = 0.0;
};
Figures loudOnDroppedRows(Index rows, Index maxRows, unsigned seed) {
    MatrixRM X = inputs(rows, 64, seed);
    const MatrixRM W = randomMatrix(40, 64, seed + 1, 0.05f);
    for (Index r = 0; r < X.rows(); ++r)
        if (r % 6 != 0) X(r, 7) *= 50.0f;
    const QuantizedLinear q(quantizeRtn(W, {.bits = 3, .groupSize = 32}), std::nullopt, "rtn");
    const GroupCapture capture = captureOf(X, maxRows, true);
    Figures f;
    f.kept = directRelativeError(strided(X, 6), W, q.denseWeight());
    f.all = directRelativeError(X, W, q.denseWeight());
    if (std::abs(f.kept - f.all) <= 1e-2 * f.all) throw std::logic_error("the kept rows must give a different figure");
    f.got = relativeOutputError(capture, W, q);
    return f;
}

}  // namespace

class TestModuleOutputError : public QObject {
    Q_OBJECT

private slots:
    // 512 rows, 4-bit RTN g32, H kept and 128 rows kept: the figure is that of all 512 rows.
    void throughTheHessianItCoversEveryRow() {
        const MatrixRM X = inputs(512, 64, 11), W = randomMatrix(48, 64, 12, 0.05f);
        const QuantizedLinear q(quantizeRtn(W, {.bits = 4, .groupSize = 32}), std::nullopt, "rtn");
        const GroupCapture capture = captureOf(X, 128, true);
        QCOMPARE(capture.rows().rows(), Index(128));

        const double all = directRelativeError(X, W, q.denseWeight());
        const double kept = directRelativeError(strided(X, 4), W, q.denseWeight());
        QVERIFY2(std::abs(kept - all) > 1e-2 * all, "the kept rows must give a measurably different figure");
        const double got = relativeOutputError(capture, W, q);
        QVERIFY2(std::abs(got - all) <= 1e-5 * all, qPrintable(QString("%1 vs %2 (all rows)").arg(got).arg(all)));
    }

    // The same module and rows without H (no GPTQ in the group): the figure is the kept rows'.
    void withoutTheHessianItUsesTheRowsKept() {
        const MatrixRM X = inputs(512, 64, 11), W = randomMatrix(48, 64, 12, 0.05f);
        const QuantizedLinear q(quantizeRtn(W, {.bits = 4, .groupSize = 32}), std::nullopt, "rtn");
        const double kept = directRelativeError(strided(X, 4), W, q.denseWeight());
        const double got = relativeOutputError(captureOf(X, 128, false), W, q);
        QVERIFY2(std::abs(got - kept) <= 1e-5 * kept, qPrintable(QString("%1 vs %2 (kept rows)").arg(got).arg(kept)));
    }

    // in_features ≥ 2 × rows: the forms through H would cost more than the GEMMs, so the rows are used.
    void widerThanTwiceTheRowsItUsesTheRowsKept() {
        const Figures f = loudOnDroppedRows(32, 6, 21);  // 64 inputs ≥ 2 × 32 rows
        QVERIFY2(std::abs(f.got - f.kept) <= 1e-5 * f.kept, qPrintable(QString("%1 vs %2 (kept rows)").arg(f.got).arg(f.kept)));
    }

    // rows ≤ in_features < 2 × rows: the forms through H (out·in² flops each) still cost less
    // than the GEMMs on every row (2·n·out·in each), so the figure covers every row.
    void betweenOnceAndTwiceTheRowsItUsesTheHessian() {
        const Figures f = loudOnDroppedRows(48, 8, 23);  // 48 ≤ 64 inputs < 96
        QVERIFY2(std::abs(f.got - f.all) <= 1e-5 * f.all, qPrintable(QString("%1 vs %2 (all rows)").arg(f.got).arg(f.all)));
    }

    // A bias changes neither figure: both sides of the ratio leave it out.
    void theBiasIsLeftOut() {
        const MatrixRM X = inputs(512, 64, 31), W = randomMatrix(48, 64, 32, 0.05f);
        const QuantizedWeight qw = quantizeRtn(W, {.bits = 4, .groupSize = 32});
        const VectorF bias = VectorF::Constant(48, 3.0f);
        const GroupCapture withH = captureOf(X, 128, true), withoutH = captureOf(X, 128, false);
        const QuantizedLinear plain(qw, std::nullopt, "rtn"), biased(qw, bias, "rtn");
        QVERIFY(std::abs(relativeOutputError(withH, W, biased) - relativeOutputError(withH, W, plain)) <=
                1e-6 * relativeOutputError(withH, W, plain));
        QVERIFY(std::abs(relativeOutputError(withoutH, W, biased) - relativeOutputError(withoutH, W, plain)) <=
                1e-5 * relativeOutputError(withoutH, W, plain));
    }

    // A resumed run repeats the figures of the run it continues bit for bit, whichever thread
    // computes them: a thread whose OpenMP default is 2 threads and one whose default is 1 give
    // the same value (an OpenMP BLAS splits a GEMM by the caller's default otherwise).
    void theFigureIsTheSameOnEveryThread() {
        const MatrixRM X = inputs(1024, 64, 41), W = randomMatrix(172, 64, 42, 0.05f);
        const QuantizedLinear q(quantizeRtn(W, {.bits = 4, .groupSize = 32}), std::nullopt, "rtn");
        const GroupCapture capture = captureOf(X, 1024, true);
        const auto on = [&](int ompThreads) {
            double e = 0.0;
            std::thread t([&] {
                omp_set_num_threads(ompThreads);
                e = relativeOutputError(capture, W, q);
            });
            t.join();
            return e;
        };
        const double one = on(1), two = on(2);
        QVERIFY2(one == two, qPrintable(QString("%1 vs %2").arg(one, 0, 'g', 17).arg(two, 0, 'g', 17)));
    }
};

QTEST_APPLESS_MAIN(TestModuleOutputError)
#include "test_module_output_error.moc"

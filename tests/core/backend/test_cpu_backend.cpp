// CpuBackend against Eigen products evaluated in double.
#include <QtTest>

#include "core/backend/backend.h"
#include "core/backend/cpu/cpu_backend.h"
#include "support/test_support.h"

using namespace qb;
using core::Index;
using core::MatrixRM;
using core::MatrixRMd;

namespace {

// Float GEMM with inner dimension ≤ 96 on N(0,1) data: error ≲ √k · ulp(|y|) ≈ 1e-5.
constexpr double kLinearTolerance = 2e-5;
// Gram: float partial sums over ≤ 2048 rows, relative to the largest entry (the diagonal ~ n).
constexpr double kGramRelTolerance = 1e-5;

MatrixRMd linearReference(const MatrixRM& X, const MatrixRM& W) { return X.cast<double>() * W.cast<double>().transpose(); }

}  // namespace

class TestCpuBackend : public QObject {
    Q_OBJECT
private slots:
    void linearMatchesTheDirectProduct_data() {
        QTest::addColumn<int>("rows");
        QTest::addColumn<int>("threads");
        QTest::newRow("1 row, 1 thread") << 1 << 1;
        QTest::newRow("63 rows, 2 threads (one block)") << 63 << 2;
        QTest::newRow("300 rows, 2 threads") << 300 << 2;
        QTest::newRow("301 rows, 3 threads (uneven split)") << 301 << 3;
    }
    void linearMatchesTheDirectProduct() {
        QFETCH(int, rows);
        QFETCH(int, threads);
        core::setThreadCount(threads);
        const MatrixRM X = test::randomMatrix(rows, 96, 1);
        const MatrixRM W = test::randomMatrix(80, 96, 2);
        MatrixRM Y(3, 3);  // wrong size on purpose: linear() resizes
        core::CpuBackend().linear(X, W, Y);
        QCOMPARE(Y.rows(), Index(rows));
        QCOMPARE(Y.cols(), Index(80));
        const double err = (Y.cast<double>() - linearReference(X, W)).cwiseAbs().maxCoeff();
        QVERIFY2(err < kLinearTolerance, qPrintable(QString::number(err)));
    }
    void linearAcceptsBlocksOfLargerMatrices() {
        core::setThreadCount(2);
        const MatrixRM big = test::randomMatrix(200, 64, 3);
        const MatrixRM W = test::randomMatrix(16, 40, 4);
        MatrixRM Y;
        core::CpuBackend().linear(big.block(10, 5, 150, 40), W, Y);  // a strided view, not a copy
        const MatrixRM X = big.block(10, 5, 150, 40);
        QVERIFY((Y.cast<double>() - linearReference(X, W)).cwiseAbs().maxCoeff() < kLinearTolerance);
    }
    void gramAccumulatesXtXInDouble() {
        core::setThreadCount(2);
        const MatrixRM X = test::randomMatrix(5000, 48, 5);  // 3 chunks of ≤ 2048 rows
        MatrixRMd H = MatrixRMd::Zero(48, 48);
        core::CpuBackend().accumulateGram(X, H);
        const MatrixRMd expected = X.cast<double>().transpose() * X.cast<double>();
        const double rel = (H - expected).cwiseAbs().maxCoeff() / expected.cwiseAbs().maxCoeff();
        QVERIFY2(rel < kGramRelTolerance, qPrintable(QString::number(rel)));
        QCOMPARE(H, MatrixRMd(H.transpose()));  // exactly symmetric
    }
    void gramAddsToWhatIsAlreadyThere() {
        core::setThreadCount(2);
        const MatrixRM X1 = test::randomMatrix(700, 24, 6);
        const MatrixRM X2 = test::randomMatrix(300, 24, 7);
        MatrixRMd H = MatrixRMd::Identity(24, 24);
        core::CpuBackend().accumulateGram(X1, H);
        core::CpuBackend().accumulateGram(X2, H);
        const MatrixRMd expected = MatrixRMd::Identity(24, 24) + X1.cast<double>().transpose() * X1.cast<double>() +
                                   X2.cast<double>().transpose() * X2.cast<double>();
        QVERIFY((H - expected).cwiseAbs().maxCoeff() / expected.cwiseAbs().maxCoeff() < kGramRelTolerance);
    }
    void registryAlwaysHasTheCpuBackendAndFallsBackToIt() {
        const auto cpu = core::BackendRegistry::instance().cpu();
        QVERIFY(cpu != nullptr);
        QCOMPARE(cpu->name(), std::string("cpu"));
        QCOMPARE(core::BackendRegistry::instance().find("cpu"), cpu);
        QVERIFY(core::BackendRegistry::instance().find("no-such-backend") == nullptr);
        // No GPU is registered in this process: every op goes to the CPU.
        QCOMPARE(core::backendFor(core::BackendOp::Linear, 512, 64, 64).name(), std::string("cpu"));
    }
    void threadCountIsAtLeastOne() {
        core::setThreadCount(0);
        QCOMPARE(core::threadCount(), 1);
        core::setThreadCount(3);
        QCOMPARE(core::threadCount(), 3);
    }
};

QTEST_APPLESS_MAIN(TestCpuBackend)
#include "test_cpu_backend.moc"

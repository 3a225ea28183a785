// The parallel Cholesky, triangular inverse and GPTQ's Hinv = chol(H⁻¹)ᵀ against Eigen in double.
#include <QtTest>

#include <Eigen/Cholesky>
#include <Eigen/LU>

#include "core/backend/backend.h"
#include "core/quant/hessian_inverse.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

constexpr double kDoubleTolerance = 1e-10;  // relative, factorisations of well-conditioned SPD matrices
constexpr double kFloatTolerance = 1e-5;    // U is stored in float

MatrixRMd spdMatrix(Index n, unsigned seed) {
    const MatrixRMd X = test::randomMatrix(n + 20, n, seed).cast<double>();
    MatrixRMd H = X.transpose() * X / double(n);
    H.diagonal().array() += 0.1;
    return H;
}

}  // namespace

class TestHessianInverse : public QObject {
    Q_OBJECT
private slots:
    void blockedCholeskyMatchesEigen_data() {
        QTest::addColumn<int>("n");
        QTest::newRow("smaller than a panel") << 50;
        QTest::newRow("exactly two panels") << 256;
        QTest::newRow("ragged last panel") << 300;
    }
    void blockedCholeskyMatchesEigen() {
        QFETCH(int, n);
        setThreadCount(2);
        const MatrixRMd H = spdMatrix(n, 3);
        MatrixRMd L = H;
        QVERIFY(choleskyLowerInPlace(L));
        const Eigen::MatrixXd ref = Eigen::LLT<Eigen::MatrixXd>(H).matrixL();
        QVERIFY((L - ref).cwiseAbs().maxCoeff() < kDoubleTolerance * ref.cwiseAbs().maxCoeff());
        QCOMPARE(L(0, n - 1), 0.0);  // strict upper triangle zeroed
    }
    void choleskyReportsIndefiniteMatrices() {
        MatrixRMd H = spdMatrix(200, 4);
        H(150, 150) = -1.0;
        QVERIFY(!choleskyLowerInPlace(H));
    }
    void triangularInverseIsTheInverse() {
        MatrixRMd L = spdMatrix(300, 5);
        QVERIFY(choleskyLowerInPlace(L));
        const MatrixRMd Linv = invertLowerTriangular(L);
        QVERIFY((Linv * L - MatrixRMd::Identity(300, 300)).cwiseAbs().maxCoeff() < kDoubleTolerance * 10);
        QCOMPARE(Linv(0, 299), 0.0);
    }
    void upperFactorOfTheInverse() {
        // The reference: cholesky(cholesky_inverse(cholesky(H)), upper=True).
        const MatrixRMd H = spdMatrix(260, 6);
        InverseHessianFactor F;
        QVERIFY(upperCholeskyOfInverse(H, F));
        const Eigen::MatrixXd Hinv = H.inverse();
        const Eigen::MatrixXd Uref = Eigen::LLT<Eigen::MatrixXd>(Hinv).matrixU();
        const double scale = Uref.cwiseAbs().maxCoeff();
        QVERIFY((F.U.cast<double>() - Uref).cwiseAbs().maxCoeff() < kFloatTolerance * scale);
        QCOMPARE(F.U(259, 0), 0.0f);
        QVERIFY((F.U.diagonal().array() > 0.0f).all());
    }
    void permutedFactorEqualsTheFactorOfThePermutedMatrix() {
        // H' = P·H·Pᵀ with a damped, partly replaced diagonal, formed explicitly for the
        // reference; the overload must give the same factors without forming it.
        const MatrixRMd H = spdMatrix(150, 7);
        std::vector<Index> perm(150);
        for (Index i = 0; i < 150; ++i) perm[std::size_t(i)] = (i * 37) % 150;  // 37 is prime to 150
        VectorD diag(150);
        MatrixRMd Hp(150, 150);
        for (Index i = 0; i < 150; ++i) {
            for (Index j = 0; j < 150; ++j) Hp(i, j) = H(perm[std::size_t(i)], perm[std::size_t(j)]);
            diag[i] = (i % 11 == 0 ? 1.0 : Hp(i, i)) + 0.25;  // a "dead" column fixed to 1, then damping
            Hp(i, i) = diag[i];
        }
        InverseHessianFactor direct, viaPerm;
        MatrixRM directLrev, viaPermLrev;
        QVERIFY(upperCholeskyOfInverse(Hp, direct, [&](const MatrixRM& L) { directLrev = L; }));
        QVERIFY(upperCholeskyOfInverse(H, perm, diag, viaPerm, FactorPrecision::Double, [&](const MatrixRM& L) { viaPermLrev = L; }));
        QCOMPARE((viaPerm.U - direct.U).cwiseAbs().maxCoeff(), 0.0f);
        QCOMPARE((viaPermLrev - directLrev).cwiseAbs().maxCoeff(), 0.0f);
    }
    // The visitor sees L̃ with J·H·J = L̃·L̃ᵀ, lower triangular, before the inverse overwrites it;
    // in float (the storage GPTQ's objective reads in place) as in double.
    void theVisitorSeesTheLowerFactorOfTheReversedMatrix() {
        const MatrixRMd H = spdMatrix(200, 8);
        const MatrixRMd JHJ = H.reverse();  // (J·H·J)(i, j) = H(n−1−i, n−1−j)
        std::vector<Index> perm(200);
        for (Index i = 0; i < 200; ++i) perm[std::size_t(i)] = i;
        for (const FactorPrecision precision : {FactorPrecision::Double, FactorPrecision::Float}) {
            InverseHessianFactor F;
            MatrixRM Lrev;
            int visits = 0;
            QVERIFY(upperCholeskyOfInverse(H, perm, H.diagonal(), F, precision, [&](const MatrixRM& L) {
                Lrev = L;
                ++visits;
            }));
            QCOMPARE(visits, 1);
            QCOMPARE(Lrev.triangularView<Eigen::StrictlyUpper>().toDenseMatrix().cwiseAbs().maxCoeff(), 0.0f);
            const MatrixRMd Ld = Lrev.cast<double>();
            const double err = (Ld * Ld.transpose() - JHJ).cwiseAbs().maxCoeff() / JHJ.cwiseAbs().maxCoeff();
            QVERIFY2(err < 1e-5, qPrintable(QString::number(err)));
            // and U is still the factor of H⁻¹: U·(J·L̃·L̃ᵀ·J)·Uᵀ = I
            const MatrixRMd U = F.U.cast<double>();
            QVERIFY(((U * H * U.transpose()) - MatrixRMd::Identity(200, 200)).cwiseAbs().maxCoeff() < 1e-3);
        }
    }
    // U's strict lower triangle is zero in float too (the reversed storage of L̃⁻¹'s zero upper).
    void theFloatFactorIsUpperTriangular() {
        const MatrixRMd H = spdMatrix(333, 9);
        std::vector<Index> perm(333);
        for (Index i = 0; i < 333; ++i) perm[std::size_t(i)] = i;
        InverseHessianFactor F;
        QVERIFY(upperCholeskyOfInverse(H, perm, H.diagonal(), F, FactorPrecision::Float));
        QCOMPARE(F.U.triangularView<Eigen::StrictlyLower>().toDenseMatrix().cwiseAbs().maxCoeff(), 0.0f);
        QVERIFY((F.U.diagonal().array() > 0.0f).all());
    }
};

QTEST_APPLESS_MAIN(TestHessianInverse)
#include "test_hessian_inverse.moc"

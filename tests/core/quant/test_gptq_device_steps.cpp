// The device algorithm of GPTQ and RTN (core/quant/gptq_device_steps.h), emulated on the CPU:
// the same per-row and per-element functions the CUDA kernels call, driven by host loops in
// the order gpu/cuda_gptq.cpp launches them, with the cuBLAS calls' descriptors applied by a
// plain column-major GEMM. Compared with the CPU reference (core/quant/gptq.cpp, rtn.cpp).
// CI has no GPU: this is where the device path's indexing, layouts and GEMM arguments are
// tested; the launches and the libraries' arithmetic are `quantbench-cli selftest`'s.
#include <QtTest>

#include <random>

#include "core/quant/awq.h"
#include "core/quant/gptq.h"
#include "core/quant/gptq_device_steps.h"
#include "core/quant/hessian_inverse.h"
#include "core/quant/rtn.h"
#include "core/stats/sensitivity.h"
#include "support/test_support.h"

using namespace qb::core;
namespace step = qb::core::gptq_device;

namespace {

using qb::test::randomMatrix;

// A Hessian like a real one: correlated channels (a shared rank-8 part) with scales over two
// decades, one dead input column.
MatrixRMd hessianOf(Index in, Index tokens, unsigned seed, Index deadColumn = -1) {
    MatrixRM X = randomMatrix(tokens, in, seed) + 2.0f * randomMatrix(tokens, 8, seed + 2) * randomMatrix(8, in, seed + 3);
    std::mt19937 rng(seed + 1);
    std::uniform_real_distribution<float> logScale(-1.0f, 1.0f);
    for (Index c = 0; c < in; ++c) X.col(c) *= std::pow(10.0f, logScale(rng));
    if (deadColumn >= 0) X.col(deadColumn).setZero();
    return (2.0 / double(tokens)) * (X.transpose() * X).cast<double>();
}

// C = α·op(A)·op(B) + β·C, column-major, as BLAS defines it (β = 0: C is not read).
void gemmColumnMajor(const step::ColumnMajorGemm& g, const float* A, const float* B, float* C) {
    A += g.offsetA;
    B += g.offsetB;
    C += g.offsetC;
    for (int j = 0; j < g.n; ++j)
        for (int i = 0; i < g.m; ++i) {
            float acc = 0.0f;
            for (int p = 0; p < g.k; ++p) {
                const float a = g.transA ? A[std::size_t(i) * g.lda + p] : A[std::size_t(p) * g.lda + i];
                const float b = g.transB ? B[std::size_t(p) * g.ldb + j] : B[std::size_t(j) * g.ldb + p];
                acc += a * b;
            }
            float& c = C[std::size_t(j) * g.ldc + i];
            c = g.beta == 0.0f ? g.alpha * acc : g.alpha * acc + g.beta * c;
        }
}

struct Emulated {
    QuantizedWeight Q;
    MatrixRM U;
};

// gpu/cuda_gptq.cpp's steps on host arrays (no damping retries: the tests' H are well damped).
Emulated emulateDeviceGptq(const MatrixRM& W, const MatrixRMd& H, const WeightGridSpec& spec, const GptqOptions& opt) {
    const Index out = W.rows(), n = W.cols();
    const GptqHessianPrep P = prepareGptqHessian(H, opt.actOrder);
    std::vector<std::int32_t> perm(std::size_t(n), 0);
    std::vector<std::uint8_t> dead(std::size_t(n), 0);
    for (Index i = 0; i < n; ++i) {
        perm[std::size_t(i)] = std::int32_t(P.perm[std::size_t(i)]);
        dead[std::size_t(i)] = std::uint8_t(P.dead[std::size_t(i)]);
    }
    const QuantGrid grid(spec.bits, spec.sym);
    const Index g = groupWidth(n, spec.groupSize);
    Emulated e{QuantizedWeight::allocate(out, n, spec), MatrixRM(n, n)};
    QuantizedWeight& Q = e.Q;
    const int groups = int(Q.groups());
    const bool staticGroups = opt.staticGroups && spec.groupSize.has_value();
    if (staticGroups)
        for (int r = 0; r < out; ++r)
            for (int k = 0; k < groups; ++k)
                step::rtnGroup(W.data(), dead.data(), int(n), int(g), groups, grid.maxq(), spec.sym, Q.scales.data(),
                               Q.zeros.data(), nullptr, r, k);
    // factor: A = J(H'+λI)J, its lower Cholesky factor, the inverse (column-major, as trtri leaves it), U.
    const double lambda = opt.dampPercent * P.meanDiag;
    std::vector<double> diag(std::size_t(n), 0.0);
    for (Index i = 0; i < n; ++i) diag[std::size_t(i)] = P.diagP[i] + lambda;
    MatrixRMd A(n, n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) A(i, j) = step::reversedHessianAt(H.data(), perm.data(), diag.data(), int(n), i, j);
    if (!choleskyLowerInPlace(A)) throw Error("emulation: Cholesky failed");
    for (int j = 0; j < n; ++j)
        if (step::pivotFails(A(j, j), diag[std::size_t(n - 1 - j)], 1e-12)) throw Error("emulation: a pivot failed");
    const MatrixRMd LinvColumnMajor = invertLowerTriangular(A).transpose();  // row-major storage of Lᵀ = column-major L
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) e.U(i, j) = step::upperFactorAt(LinvColumnMajor.data(), int(n), i, j);
    // sweep
    MatrixRM Wt(n, out);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < out; ++j) Wt(i, j) = step::permutedTransposeAt(W.data(), perm.data(), dead.data(), int(n), i, j);
    const Index B = std::min<Index>(opt.blockSize, n);
    MatrixRM E(B, out);
    CodeMatrix codesT(n, out);
    std::vector<double> rowLoss(std::size_t(out), 0.0);
    step::BlockArgs a;
    a.Wt = Wt.data();
    a.U = e.U.data();
    a.E = E.data();
    a.codesT = codesT.data();
    a.scales = Q.scales.data();
    a.zeros = Q.zeros.data();
    a.perm = perm.data();
    a.rowLoss = rowLoss.data();
    a.out = int(out);
    a.n = int(n);
    a.groups = groups;
    a.groupCols = int(g);
    a.maxq = grid.maxq();
    a.sym = spec.sym;
    a.staticGroups = staticGroups;
    for (Index i1 = 0; i1 < n; i1 += B) {
        a.i1 = int(i1);
        a.i2 = int(std::min(n, i1 + B));
        for (int j = 0; j < out; ++j) step::sweepBlockRow(a, j);
        if (a.i2 < n) gemmColumnMajor(step::lazyUpdateGemm(int(out), int(n), a.i1, a.i2), E.data(), e.U.data(), Wt.data());
    }
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < out; ++j) Q.codes.data()[step::scatteredCodeIndex(perm.data(), int(n), i, j)] = codesT(i, j);
    if (!staticGroups && opt.actOrder)
        for (Index i = 0; i < n; ++i) Q.gIdx[std::size_t(P.perm[std::size_t(i)])] = std::int32_t(i / g);
    return e;
}

// tr(ΔW H ΔWᵀ), the GPTQ objective of a result.
double objective(const MatrixRM& W, const QuantizedWeight& Q, const MatrixRMd& H) {
    const MatrixRMd dW = (W - Q.dequantize()).cast<double>();
    return (dW * H * dW.transpose()).trace();
}

double differingFraction(const QuantizedWeight& a, const QuantizedWeight& b) {
    return double((a.codes.array() != b.codes.array()).count()) / double(a.codes.size());
}

}  // namespace

class TestGptqDeviceSteps : public QObject {
    Q_OBJECT
private slots:
    void factorIsTheCpusBitForBit() {
        // Act-order permutation, a dead column and damping: U from the device's element
        // functions equals upperCholeskyOfInverse's exactly (the same double operations).
        const MatrixRMd H = hessianOf(96, 400, 1, 17);
        const GptqHessianPrep P = prepareGptqHessian(H, true);
        const VectorD damped = P.diagP.array() + 0.01 * P.meanDiag;
        InverseHessianFactor F;
        QVERIFY(upperCholeskyOfInverse(H, P.perm, damped, F));
        GptqOptions opt;
        opt.actOrder = true;
        const Emulated e = emulateDeviceGptq(randomMatrix(8, 96, 2), H, {4, 32, false}, opt);
        QVERIFY(e.U == F.U);
    }
    void oneBlockLayerEqualsTheCpuExactly_data() {
        QTest::addColumn<bool>("actOrder");
        QTest::addColumn<bool>("staticGroups");
        QTest::addColumn<int>("bits");
        QTest::newRow("w4 g32") << false << false << 4;
        QTest::newRow("w4 g32 act-order") << true << false << 4;
        QTest::newRow("w3 g32 act-order static") << true << true << 3;
    }
    void oneBlockLayerEqualsTheCpuExactly() {
        // in = 100 ≤ B = 128: no lazy GEMM, so every operation is the CPU's own, in its order.
        QFETCH(bool, actOrder);
        QFETCH(bool, staticGroups);
        QFETCH(int, bits);
        const MatrixRM W = randomMatrix(72, 100, 3) * 0.02f;
        const MatrixRMd H = hessianOf(100, 500, 4, 33);
        GptqOptions opt;
        opt.actOrder = actOrder;
        opt.staticGroups = staticGroups;
        const WeightGridSpec spec{bits, 32, false};
        const GptqResult cpu = quantizeGptq(W, H, spec, opt);
        const Emulated dev = emulateDeviceGptq(W, H, spec, opt);
        QVERIFY(dev.Q.codes == cpu.weight.codes);
        QVERIFY(dev.Q.scales == cpu.weight.scales);
        QVERIFY(dev.Q.zeros == cpu.weight.zeros);
        QVERIFY(dev.Q.gIdx == cpu.weight.gIdx);
    }
    void multiBlockLayerMatchesTheCpu_data() {
        QTest::addColumn<int>("group");
        QTest::addColumn<bool>("actOrder");
        QTest::addColumn<bool>("staticGroups");
        QTest::newRow("g32") << 32 << false << false;
        QTest::newRow("g128 act-order") << 128 << true << false;
        QTest::newRow("g48 act-order, groups straddle blocks") << 48 << true << false;
        QTest::newRow("g48 static") << 48 << true << true;
        QTest::newRow("per-row") << 0 << false << false;
    }
    void multiBlockLayerMatchesTheCpu() {
        // in = 300: three blocks, the last partial. The lazy update is the plain GEMM here and
        // OpenBLAS on the CPU, so a weight near a rounding boundary may round the other way;
        // the layers must agree on all but a few codes and on the objective.
        QFETCH(int, group);
        QFETCH(bool, actOrder);
        QFETCH(bool, staticGroups);
        const MatrixRM W = randomMatrix(64, 300, 5) * 0.02f;
        const MatrixRMd H = hessianOf(300, 1200, 6, 101);
        GptqOptions opt;
        opt.actOrder = actOrder;
        opt.staticGroups = staticGroups;
        const WeightGridSpec spec{4, group > 0 ? std::optional<int>(group) : std::nullopt, false};
        const GptqResult cpu = quantizeGptq(W, H, spec, opt);
        const Emulated dev = emulateDeviceGptq(W, H, spec, opt);
        const double differing = differingFraction(dev.Q, cpu.weight);
        const double objCpu = objective(W, cpu.weight, H), objDev = objective(W, dev.Q, H);
        const double objRtn = objective(W, quantizeRtn(W, spec), H);
        qInfo("codes differing %.2e, objective %.6e vs cpu %.6e (RTN %.6e)", differing, objDev, objCpu, objRtn);
        QVERIFY(differing <= 2e-3);
        QVERIFY(std::abs(objDev - objCpu) <= 1e-3 * objCpu);
        QVERIFY(dev.Q.gIdx == cpu.weight.gIdx);
        // And GPTQ did its job: well below RTN's objective on the same grid.
        QVERIFY(objDev < 0.8 * objRtn);
    }
    void lazyUpdateGemmIsLineEleven() {
        // Wt[i2:, :] −= U[i1:i2, i2:]ᵀ · E, written with Eigen, against the descriptor.
        const int out = 37, n = 90, i1 = 32, i2 = 64;
        MatrixRM Wt = randomMatrix(n, out, 7);
        const MatrixRM U = randomMatrix(n, n, 8), E = randomMatrix(i2 - i1, out, 9);
        MatrixRM expected = Wt;
        expected.bottomRows(n - i2) -= U.block(i1, i2, i2 - i1, n - i2).transpose() * E;
        gemmColumnMajor(step::lazyUpdateGemm(out, n, i1, i2), E.data(), U.data(), Wt.data());
        QVERIFY((Wt - expected).cwiseAbs().maxCoeff() <= 1e-5f * expected.cwiseAbs().maxCoeff());
        QVERIFY(Wt.topRows(i2) == expected.topRows(i2));  // columns before the block's end untouched
    }
    void referenceProductIsWTimesH() {
        const int out = 21, n = 45;
        const MatrixRM W = randomMatrix(out, n, 10);
        MatrixRM H = randomMatrix(n, n, 11);
        H = (H + H.transpose()).eval();  // symmetric, as a Hessian
        MatrixRM T(out, n);
        gemmColumnMajor(step::referenceProductGemm(out, n), H.data(), W.data(), T.data());
        const MatrixRM expected = W * H;
        QVERIFY((T - expected).cwiseAbs().maxCoeff() <= 1e-5f * expected.cwiseAbs().maxCoeff());
    }
    void rtnGroupsEqualQuantizeRtn() {
        // 1000 = 7·128 + 104: a trailing partial group; 3-bit symmetric; one group per row.
        const MatrixRM W = randomMatrix(30, 1000, 12) * 0.05f;
        for (const WeightGridSpec spec : {WeightGridSpec{4, 128, false}, WeightGridSpec{3, 32, true},
                                          WeightGridSpec{8, std::nullopt, false}}) {
            const QuantizedWeight cpu = quantizeRtn(W, spec);
            QuantizedWeight dev = QuantizedWeight::allocate(W.rows(), W.cols(), spec);
            const int groups = int(dev.groups());
            for (int r = 0; r < W.rows(); ++r)
                for (int k = 0; k < groups; ++k)
                    step::rtnGroup(W.data(), nullptr, int(W.cols()), int(groupWidth(W.cols(), spec.groupSize)), groups,
                                   (1 << spec.bits) - 1, spec.sym, dev.scales.data(), dev.zeros.data(), dev.codes.data(), r, k);
            QVERIFY(dev.codes == cpu.codes);
            QVERIFY(dev.scales == cpu.scales);
            QVERIFY(dev.zeros == cpu.zeros);
        }
    }
    void sensitivityFormsEqualTheCpus_data() {
        QTest::addColumn<int>("tokens");
        QTest::newRow("Gram form (300 tokens > 200 inputs)") << 300;
        QTest::newRow("inputs kept (120 tokens)") << 120;
    }
    void sensitivityFormsEqualTheCpus() {
        // gpu/cuda_sensitivity.cpp's steps on the host: RTN per grid point, D = W − Ŵ, then
        // T = D·G (Σ T⊙D) or T = D·Xᵀ (Σ T²) through the GEMM descriptors.
        QFETCH(int, tokens);
        const int out = 48, n = 200;
        const MatrixRM W = randomMatrix(out, n, 13) * 0.02f;
        const MatrixRM X = randomMatrix(tokens, n, 14);
        SensitivityInputs inputs(n, tokens);
        inputs.add(X);
        bool isGram = false;
        const MatrixRM in = inputs.floatInputs(isGram);
        QCOMPARE(isGram, tokens > n);
        const int m = int(in.rows());
        auto energy = [&](const MatrixRM& D) {
            MatrixRM T(out, m);
            if (isGram) {
                gemmColumnMajor(step::referenceProductGemm(out, n), in.data(), D.data(), T.data());
                return (T.cast<double>().array() * D.cast<double>().array()).sum();
            }
            gemmColumnMajor(step::inputProductGemm(out, n, m), in.data(), D.data(), T.data());
            return T.cast<double>().squaredNorm();
        };
        SensitivityOptions options;  // w2/3/4/8 × g32/g128/per-channel
        const SensitivityTable cpu = computeSensitivity(W, inputs, options);
        const double reference = energy(W);
        std::size_t i = 0;
        for (int bits : options.bits)
            for (const std::optional<int>& group : options.groupSizes) {
                const WeightGridSpec spec{bits, group, false};
                const int g = int(groupWidth(n, group)), groups = (n + g - 1) / g;
                QuantizedWeight q = QuantizedWeight::allocate(out, n, spec);
                for (int r = 0; r < out; ++r)
                    for (int k = 0; k < groups; ++k)
                        step::rtnGroup(W.data(), nullptr, n, g, groups, (1 << bits) - 1, false, q.scales.data(), q.zeros.data(),
                                       q.codes.data(), r, k);
                MatrixRM D(out, n);
                for (int r = 0; r < out; ++r)
                    for (int c = 0; c < n; ++c)
                        D(r, c) = step::rtnResidualAt(W.data(), q.codes.data(), q.scales.data(), q.zeros.data(), n, g, groups, r, c);
                const double emulated = energy(D) / reference;
                const double expected = *cpu.entries[i++].relativeError;
                QVERIFY2(std::abs(emulated - expected) <= 1e-4 * expected,
                         qPrintable(QString("%1: %2 vs %3").arg(QString::fromStdString(sensitivityLabel(bits, group))).arg(emulated).arg(expected)));
            }
        QCOMPARE(QString::fromStdString(cpu.backend), QString("cpu"));
    }
    void awqSearchEqualsTheCpus() {
        // gpu/cuda_sensitivity.cpp's AWQ search on the host: Ws = W·diag(s), its RTN, the
        // residual W − Ŵs/s and its energy through G, for each α; against searchAwqScales.
        const int out = 40, n = 160, tokens = 400;
        const MatrixRM X = randomMatrix(tokens, n, 15);
        const MatrixRM W = randomMatrix(out, n, 16) * 0.02f;
        const WeightGridSpec spec{4, 32, false};
        const AwqScaleSearch cpu = searchAwqScales(X, {&W}, spec, 10);
        QCOMPARE(QString::fromStdString(cpu.backend), QString("cpu"));
        MatrixRMd Gd = (X.transpose() * X).cast<double>();
        const MatrixRM G = Gd.cast<float>();
        const VectorF sX = awqActivationScale(X);
        const int g = 32, groups = n / g;
        for (std::size_t k = 0; k < cpu.alphas.size(); ++k) {
            VectorF s(n);  // llm-awq's scales for this α, as the search forms them
            for (int j = 0; j < n; ++j) s[j] = std::max(std::pow(sX[j], float(cpu.alphas[k])), 1e-4f);
            s /= std::sqrt(s.maxCoeff() * s.minCoeff());
            MatrixRM Ws(out, n), D(out, n), T(out, n);
            for (int r = 0; r < out; ++r)
                for (int c = 0; c < n; ++c) Ws(r, c) = step::awqScaledWeightAt(W.data(), s.data(), n, r, c);
            QuantizedWeight q = QuantizedWeight::allocate(out, n, spec);
            for (int r = 0; r < out; ++r)
                for (int kk = 0; kk < groups; ++kk)
                    step::rtnGroup(Ws.data(), nullptr, n, g, groups, 15, false, q.scales.data(), q.zeros.data(), q.codes.data(), r, kk);
            for (int r = 0; r < out; ++r)
                for (int c = 0; c < n; ++c)
                    D(r, c) = step::awqResidualAt(W.data(), s.data(), q.codes.data(), q.scales.data(), q.zeros.data(), n, g, groups, r, c);
            gemmColumnMajor(step::referenceProductGemm(out, n), G.data(), D.data(), T.data());
            const double emulated = (T.cast<double>().array() * D.cast<double>().array()).sum() / double(tokens * out);
            QVERIFY2(std::abs(emulated - cpu.errors[k]) <= 1e-4 * cpu.errors[k],
                     qPrintable(QString("alpha %1: %2 vs %3").arg(cpu.alphas[k]).arg(emulated).arg(cpu.errors[k])));
        }
    }
    void pivotCheckRejectsWhatTheCpuRejects() {
        QVERIFY(!step::pivotFails(1.0, 1.0, 1e-12));
        QVERIFY(step::pivotFails(0.0, 1.0, 1e-12));
        QVERIFY(step::pivotFails(-1.0, 1.0, 1e-12));
        QVERIFY(step::pivotFails(std::nan(""), 1.0, 1e-12));
        QVERIFY(step::pivotFails(std::numeric_limits<double>::infinity(), 1.0, 1e-12));
        QVERIFY(step::pivotFails(1e-7, 1.0, 1e-12));   // 1e-14 < 1e-12: a rounding residue
        QVERIFY(!step::pivotFails(2e-6, 1.0, 1e-12));  // 4e-12 ≥ 1e-12
    }
};

QTEST_APPLESS_MAIN(TestGptqDeviceSteps)
#include "test_gptq_device_steps.moc"

// CudaBackend against the CPU reference (label: backend). Every device test skips with the
// probe's line where no usable CUDA device exists; the probe test runs everywhere.

#include <QTest>

#include <limits>
#include <memory>
#include <optional>

#include "core/backend/cpu/cpu_backend.h"
#include "core/model/decoder_layer.h"
#include "core/quant/gptq.h"
#include "core/quant/rtn.h"
#include "core/util/error.h"
#include "gpu/cuda_backend.h"
#include "gpu/gpu_backend.h"
#include "support/test_support.h"

using qb::core::BackendOp;
using qb::core::Index;
using qb::core::MatrixRM;
using qb::core::MatrixRMd;

namespace {

// Tolerances on max|gpu - cpu| / max|cpu|: both sides are FP32 (no TF32) with different
// summation orders, so the observed error is ~1e-7; TF32 or an indexing bug gives ≥ 1e-3.
constexpr double kLinearTolerance = 1e-5;
constexpr double kGramTolerance = 1e-5;
constexpr double kRmsNormTolerance = 1e-5;
constexpr double kRmsNormEps = 1e-6;

template <class M>
double relativeError(const M& A, const M& B) {
    const double scale = B.size() ? double(B.cwiseAbs().maxCoeff()) : 0.0;
    const double diff = A.size() ? double((A - B).cwiseAbs().maxCoeff()) : 0.0;
    return scale > 0.0 ? diff / scale : diff;
}

}  // namespace

// Skips the calling test, with the probe's reason, when there is no device.
#define QB_REQUIRE_GPU()                            \
    do {                                            \
        if (!m_gpu) QSKIP(m_probe.message.c_str()); \
    } while (false)

class TestCudaBackend : public QObject {
    Q_OBJECT

private:
    qb::gpu::DeviceProbe m_probe;
    std::unique_ptr<qb::gpu::CudaBackend> m_gpu;
    qb::core::CpuBackend m_cpu;

private slots:
    void initTestCase() {
        m_probe = qb::gpu::probeCudaDevices();
        qInfo("%s", m_probe.message.c_str());
        if (m_probe.available) m_gpu = std::make_unique<qb::gpu::CudaBackend>(m_probe.devices.front());
    }

    void probeGivesOneLine() {
        const qb::gpu::DeviceProbe probe = qb::gpu::probeCudaDevices();
        QVERIFY(!probe.message.empty());
        QCOMPARE(probe.message.find('\n'), std::string::npos);
        QCOMPARE(probe.available, !probe.devices.empty());
        if (!probe.available) QVERIFY(probe.message.ends_with("; using the CPU"));
    }

    void nameAndDescription() {
        QB_REQUIRE_GPU();
        QVERIFY(m_gpu->name() == "cuda:" + std::to_string(m_probe.devices.front()));
        QVERIFY(!m_gpu->description().empty());
    }

    void supportsOnlyWorthwhileSizes() {
        QB_REQUIRE_GPU();
        QVERIFY(!m_gpu->supports(BackendOp::Linear, 1, 64, 64));
        QVERIFY(!m_gpu->supports(BackendOp::Gram, 16, 16, 16));
        QVERIFY(m_gpu->supports(BackendOp::Linear, 2048, 4096, 4096));
        QVERIFY(m_gpu->supports(BackendOp::Gram, 2048, 4096, 4096));
        // 10^6 x 10^6 weights (4 TB) fit on no device.
        QVERIFY(!m_gpu->supports(BackendOp::Linear, 4096, 1'000'000, 1'000'000));
    }

    void linearMatchesCpu_data() {
        QTest::addColumn<qlonglong>("n");
        QTest::addColumn<qlonglong>("in");
        QTest::addColumn<qlonglong>("out");
        QTest::newRow("1x1x1") << 1LL << 1LL << 1LL;
        QTest::newRow("odd 7x33x65") << 7LL << 33LL << 65LL;
        QTest::newRow("odd 129x257x95") << 129LL << 257LL << 95LL;
        QTest::newRow("layer 512x1024x768") << 512LL << 1024LL << 768LL;
        QTest::newRow("long inner 3x4097x5") << 3LL << 4097LL << 5LL;
    }
    void linearMatchesCpu() {
        QB_REQUIRE_GPU();
        QFETCH(qlonglong, n);
        QFETCH(qlonglong, in);
        QFETCH(qlonglong, out);
        const MatrixRM X = qb::test::randomMatrix(n, in, 11);
        const MatrixRM W = qb::test::randomMatrix(out, in, 12);
        MatrixRM Ygpu;
        MatrixRM Ycpu;
        m_gpu->linear(X, W, Ygpu);
        m_cpu.linear(X, W, Ycpu);
        QCOMPARE(Ygpu.rows(), Index(n));
        QCOMPARE(Ygpu.cols(), Index(out));
        const double error = relativeError(Ygpu, Ycpu);
        qInfo("max relative error %.3g", error);
        QVERIFY2(error <= kLinearTolerance, qPrintable(QString::number(error)));
    }

    void linearReadsStridedBlocks() {
        QB_REQUIRE_GPU();
        // X and W as column blocks of wider matrices: their rows are not contiguous.
        const MatrixRM Xwide = qb::test::randomMatrix(100, 300, 13);
        const MatrixRM Wwide = qb::test::randomMatrix(70, 250, 14);
        const auto X = Xwide.middleCols(17, 200);
        const auto W = Wwide.middleCols(3, 200);
        MatrixRM Ygpu;
        MatrixRM Ycpu;
        m_gpu->linear(X, W, Ygpu);
        m_cpu.linear(MatrixRM(X), MatrixRM(W), Ycpu);
        QVERIFY(relativeError(Ygpu, Ycpu) <= kLinearTolerance);
    }

    void linearRejectsMismatchedInner() {
        QB_REQUIRE_GPU();
        const MatrixRM X = qb::test::randomMatrix(4, 8, 15);
        const MatrixRM W = qb::test::randomMatrix(3, 9, 16);
        MatrixRM Y;
        QVERIFY_THROWS_EXCEPTION(qb::core::Error, m_gpu->linear(X, W, Y));
    }

    void gramMatchesCpu_data() {
        QTest::addColumn<qlonglong>("n");
        QTest::addColumn<qlonglong>("d");
        QTest::newRow("1x1") << 1LL << 1LL;
        QTest::newRow("odd 5x17") << 5LL << 17LL;
        QTest::newRow("chunk edge 2048x64") << 2048LL << 64LL;
        QTest::newRow("chunk edge + 1: 2049x33") << 2049LL << 33LL;
        QTest::newRow("three chunks 5000x300") << 5000LL << 300LL;
        QTest::newRow("odd tiles 37x1001") << 37LL << 1001LL;
    }
    void gramMatchesCpu() {
        QB_REQUIRE_GPU();
        QFETCH(qlonglong, n);
        QFETCH(qlonglong, d);
        const MatrixRM X = qb::test::randomMatrix(n, d, 21);
        // A non-zero (symmetric) start checks that H is added to, not overwritten.
        const MatrixRM R = qb::test::randomMatrix(d, d, 22);
        const MatrixRMd H0 = (R + R.transpose()).cast<double>();
        MatrixRMd Hgpu = H0;
        MatrixRMd Hcpu = H0;
        m_gpu->accumulateGram(X, Hgpu);
        m_cpu.accumulateGram(X, Hcpu);
        const double error = relativeError(Hgpu, Hcpu);
        qInfo("max relative error %.3g", error);
        QVERIFY2(error <= kGramTolerance, qPrintable(QString::number(error)));
        // The lower triangle is a mirror of the upper one, so H0 + G stays exactly symmetric.
        QCOMPARE((Hgpu - Hgpu.transpose()).cwiseAbs().maxCoeff(), 0.0);
    }

    void gramRejectsWrongH() {
        QB_REQUIRE_GPU();
        const MatrixRM X = qb::test::randomMatrix(4, 8, 23);
        MatrixRMd H = MatrixRMd::Zero(8, 7);
        QVERIFY_THROWS_EXCEPTION(qb::core::Error, m_gpu->accumulateGram(X, H));
        QCOMPARE(H.cwiseAbs().maxCoeff(), 0.0);
    }

    void rmsNormMatchesCpu_data() {
        QTest::addColumn<qlonglong>("rows");
        QTest::addColumn<qlonglong>("cols");
        QTest::newRow("1x1") << 1LL << 1LL;
        QTest::newRow("odd 7x33") << 7LL << 33LL;
        QTest::newRow("hidden 300x1000") << 300LL << 1000LL;
        QTest::newRow("wide 3x5001") << 3LL << 5001LL;
    }
    void rmsNormMatchesCpu() {
        QB_REQUIRE_GPU();
        QFETCH(qlonglong, rows);
        QFETCH(qlonglong, cols);
        const MatrixRM X = qb::test::randomMatrix(rows, cols, 31);
        const qb::core::VectorF weight = qb::test::randomMatrix(1, cols, 32).row(0).transpose();
        MatrixRM Ygpu;
        MatrixRM Ycpu;
        m_gpu->rmsNorm(X, weight, kRmsNormEps, Ygpu);
        qb::core::rmsNorm(X, weight, kRmsNormEps, Ycpu);
        const double error = relativeError(Ygpu, Ycpu);
        qInfo("max relative error %.3g", error);
        QVERIFY2(error <= kRmsNormTolerance, qPrintable(QString::number(error)));
    }

    void rtnEqualsTheCpuBitForBit() {
        QB_REQUIRE_GPU();
        const MatrixRM W = qb::test::randomMatrix(300, 1000, 41) * 0.02f;  // trailing partial group
        for (const qb::core::WeightGridSpec spec : {qb::core::WeightGridSpec{4, 128, false}, qb::core::WeightGridSpec{3, 32, true}}) {
            const qb::core::QuantizedWeight g = m_gpu->rtn(W, spec), c = qb::core::quantizeRtn(W, spec);
            QVERIFY(g.codes == c.codes);
            QVERIFY(g.scales == c.scales);
            QVERIFY(g.zeros == c.zeros);
        }
    }

    void gptqOneBlockEqualsTheCpu() {
        // in = 100 ≤ B: no lazy GEMM; the factor is cuSOLVER's, so the codes agree unless a
        // factor entry rounds differently in its last float bit (then a handful of codes).
        QB_REQUIRE_GPU();
        const MatrixRM W = qb::test::randomMatrix(72, 100, 42) * 0.02f;
        const MatrixRM X = qb::test::randomMatrix(400, 100, 43);
        const MatrixRMd H = (2.0 / 400.0) * (X.transpose() * X).cast<double>();
        qb::core::GptqOptions opt;
        opt.actOrder = true;
        const qb::core::WeightGridSpec spec{4, 32, false};
        const auto g = m_gpu->gptq(W, H, spec, opt, qb::core::RunContext());
        const auto c = qb::core::quantizeGptq(W, H, spec, opt);
        const double differing = double((g.weight.codes.array() != c.weight.codes.array()).count()) / double(W.size());
        qInfo("codes differing %.3g, objective %.6g vs %.6g", differing, g.report.objective, c.report.objective);
        QVERIFY(differing <= 1e-3);
        QVERIFY(g.weight.gIdx == c.weight.gIdx);
        QCOMPARE(g.report.damping, c.report.damping);
        QVERIFY(std::abs(g.report.objective - c.report.objective) <= 1e-3 * c.report.objective);
    }

    void sensitivityEnergiesMatchTheCpu() {
        QB_REQUIRE_GPU();
        const MatrixRM W = qb::test::randomMatrix(256, 512, 45) * 0.02f;
        const MatrixRM X = qb::test::randomMatrix(1024, 512, 46);
        const MatrixRM G = X.transpose() * X;
        const std::vector<qb::core::WeightGridSpec> specs{{4, 128, false}, {3, 32, false}, {2, std::nullopt, false}};
        for (const bool gram : {true, false}) {
            const auto e = m_gpu->rtnOutputEnergies(W, gram ? qb::core::ConstMatrixRef(G) : qb::core::ConstMatrixRef(X), gram, specs);
            QCOMPARE(e.size(), specs.size() + 1);
            const double reference = double((W * X.transpose()).squaredNorm());
            QVERIFY(std::abs(e[0] - reference) <= 1e-4 * reference);
            for (std::size_t i = 0; i < specs.size(); ++i) {
                const MatrixRM D = W - qb::core::quantizeRtn(W, specs[i]).dequantize();
                const double expected = double((D * X.transpose()).squaredNorm());
                QVERIFY(std::abs(e[i + 1] - expected) <= 1e-4 * expected);
            }
        }
    }

    void gptqRefusesWhatTheCpuRefuses() {
        QB_REQUIRE_GPU();
        const MatrixRM W = qb::test::randomMatrix(8, 16, 44);
        MatrixRMd H = MatrixRMd::Identity(16, 16);
        H(3, 3) = std::numeric_limits<double>::quiet_NaN();
        QVERIFY_THROWS_EXCEPTION(qb::core::Error, (void)m_gpu->gptq(W, H, {4, 8, false}, {}, qb::core::RunContext()));
    }
};

QTEST_GUILESS_MAIN(TestCudaBackend)
#include "test_cuda_backend.moc"

// The device dispatch of the quantization core (core/quant/quant_accelerator.h) with a
// scripted accelerator: a device that takes the layer is used, one that fails or lacks the
// memory hands the layer to the CPU with a log line, and --device picks the backend.
// Runs everywhere (no GPU needed); the CUDA accelerator itself is tests/gpu and selftest.
#include <QtTest>

#include <random>

#include "core/backend/backend.h"
#include "core/quant/awq.h"
#include "core/quant/gptq.h"
#include "core/quant/quant_accelerator.h"
#include "core/quant/rtn.h"
#include "core/stats/sensitivity.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;

namespace {

using qb::test::randomMatrix;

// A backend whose accelerator does what the test says: answer with a marker result, throw
// a device error, or report that the layer does not fit.
class ScriptedDevice final : public Backend, public QuantAccelerator {
public:
    enum class Mode { Answer, Throw, NoMemory };
    Mode mode = Mode::Answer;
    mutable int gptqCalls = 0;
    mutable int rtnCalls = 0;
    mutable int energyCalls = 0;

    std::string name() const override { return "scripted:0"; }
    std::string description() const override { return "a scripted test device"; }
    bool supports(BackendOp, Index, Index, Index) const override { return false; }
    void linear(const ConstMatrixRef&, const ConstMatrixRef&, MatrixRM&) const override {}
    void accumulateGram(const ConstMatrixRef&, MatrixRMd&) const override {}
    const QuantAccelerator* quantAccelerator() const override { return this; }

    bool supportsGptq(Index, Index) const override { return mode != Mode::NoMemory; }
    GptqResult gptq(const ConstMatrixRef& W, const Eigen::Ref<const MatrixRMd>&, const WeightGridSpec& spec, const GptqOptions&,
                    const RunContext&) const override {
        ++gptqCalls;
        if (mode == Mode::Throw) throw Error("CUDA: cudaMalloc failed: out of memory");
        GptqResult r{QuantizedWeight::allocate(W.rows(), W.cols(), spec), {}};
        r.report.damping = -1.0;  // marks the device's answer
        return r;
    }
    bool supportsOutputEnergies(Index, Index, Index) const override { return mode != Mode::NoMemory; }
    std::vector<double> rtnOutputEnergies(const ConstMatrixRef&, const ConstMatrixRef&, bool,
                                          const std::vector<WeightGridSpec>& specs) const override {
        ++energyCalls;
        if (mode == Mode::Throw) throw Error("CUDA: cudaMalloc failed: out of memory");
        std::vector<double> e{4.0};  // reference 4, then 1, 2, 3, …: relative errors 0.25, 0.5, …
        for (std::size_t i = 0; i < specs.size(); ++i) e.push_back(double(i + 1));
        return e;
    }
    std::vector<double> scaledRtnOutputEnergies(const ConstMatrixRef&, const ConstMatrixRef&, bool, const WeightGridSpec&,
                                                const std::vector<VectorF>& columnScales) const override {
        ++energyCalls;
        if (mode == Mode::Throw) throw Error("CUDA: cudaMalloc failed: out of memory");
        std::vector<double> e;  // a minimum at the third candidate
        for (std::size_t i = 0; i < columnScales.size(); ++i) e.push_back(i == 2 ? 1.0 : 10.0);
        return e;
    }
    QuantizedWeight rtn(const ConstMatrixRef& W, const WeightGridSpec& spec) const override {
        ++rtnCalls;
        if (mode == Mode::Throw) throw Error("CUDA: an illegal memory access was encountered");
        return QuantizedWeight::allocate(W.rows(), W.cols(), spec);  // all-zero codes: the marker
    }
};

std::shared_ptr<ScriptedDevice> g_device;

}  // namespace

class TestQuantAccelerator : public QObject {
    Q_OBJECT

    MatrixRM m_W = randomMatrix(48, 64, 1) * 0.05f;
    MatrixRMd m_H;
    WeightGridSpec m_spec{4, 32, false};
    std::vector<std::string> m_log;
    RunContext m_ctx{nullptr, [this](std::string_view line) { m_log.emplace_back(line); }};

private slots:
    void initTestCase() {
        const MatrixRM X = randomMatrix(256, 64, 2);
        m_H = (2.0 / 256.0) * (X.transpose() * X).cast<double>();
        g_device = std::make_shared<ScriptedDevice>();
        BackendRegistry::instance().add(g_device);
    }
    void init() {
        m_log.clear();
        g_device->mode = ScriptedDevice::Mode::Answer;
        g_device->gptqCalls = g_device->rtnCalls = g_device->energyCalls = 0;
        BackendRegistry::instance().setPreferred("scripted:0");
    }

    void gptqRunsOnTheDeviceThatTakesIt() {
        const GptqResult r = quantizeGptqPreferred(m_W, m_H, m_spec, {}, m_ctx, "layer.q_proj");
        QCOMPARE(g_device->gptqCalls, 1);
        QCOMPARE(r.report.damping, -1.0);
        QVERIFY(m_log.empty());
    }
    void aDeviceErrorFallsBackToTheCpuWithALogLine() {
        g_device->mode = ScriptedDevice::Mode::Throw;
        const GptqResult r = quantizeGptqPreferred(m_W, m_H, m_spec, {}, m_ctx, "layer.q_proj");
        const GptqResult cpu = quantizeGptq(m_W, m_H, m_spec, {});
        QCOMPARE(g_device->gptqCalls, 1);
        QVERIFY(r.weight.codes == cpu.weight.codes);
        QCOMPARE(r.report.damping, cpu.report.damping);
        QCOMPARE(m_log.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(m_log[0]),
                 QString("scripted:0: CUDA: cudaMalloc failed: out of memory; layer.q_proj runs on the CPU"));
    }
    void aLayerThatDoesNotFitGoesToTheCpuWithoutTryingTheDevice() {
        g_device->mode = ScriptedDevice::Mode::NoMemory;
        const GptqResult r = quantizeGptqPreferred(m_W, m_H, m_spec, {}, m_ctx, "layer.down_proj");
        QCOMPARE(g_device->gptqCalls, 0);
        QVERIFY(r.weight.codes == quantizeGptq(m_W, m_H, m_spec, {}).weight.codes);
        QCOMPARE(QString::fromStdString(m_log.at(0)),
                 QString("scripted:0: not enough free device memory for layer.down_proj; it runs on the CPU"));
    }
    void inputErrorsAreTheUsersOnEveryDevice() {
        // A wrong Hessian is refused before any device is asked, with the CPU's message.
        const MatrixRMd wrong = MatrixRMd::Identity(32, 32);
        try {
            (void)quantizeGptqPreferred(m_W, wrong, m_spec, {}, m_ctx, "layer.q_proj");
            QFAIL("expected an Error");
        } catch (const Error& e) {
            QCOMPARE(QString(e.what()), QString("GPTQ: the Hessian is [32, 32] for a weight with 64 input features"));
        }
        QCOMPARE(g_device->gptqCalls, 0);
    }
    void rtnUsesTheDeviceOnlyForLargeWeights() {
        (void)quantizeRtnPreferred(m_W, m_spec, m_ctx, "small");
        QCOMPARE(g_device->rtnCalls, 0);  // 48 × 64 weights: the CPU is faster than a transfer
        const MatrixRM big = randomMatrix(1024, kRtnDeviceMinWeights / 1024, 3);
        const QuantizedWeight q = quantizeRtnPreferred(big, m_spec, m_ctx, "big");
        QCOMPARE(g_device->rtnCalls, 1);
        QCOMPARE(int(q.codes.maxCoeff()), 0);  // the scripted device's answer
    }
    void rtnFallsBackOnADeviceError() {
        g_device->mode = ScriptedDevice::Mode::Throw;
        const MatrixRM big = randomMatrix(1024, kRtnDeviceMinWeights / 1024, 4);
        const QuantizedWeight q = quantizeRtnPreferred(big, m_spec, m_ctx, "big");
        QVERIFY(q.codes == quantizeRtn(big, m_spec).codes);
        QCOMPARE(m_log.size(), std::size_t(1));
    }
    void sensitivityFormsRunOnTheDevice() {
        // 64 × 1024 weights and a 1024² Gram matrix: 2^26 multiply-adds per form, worth a device.
        const MatrixRM W = randomMatrix(64, 1024, 5);
        const MatrixRMd G = MatrixRMd::Identity(1024, 1024);
        SensitivityOptions options;
        options.bits = {3, 4, 9};  // 9 bits: refused before any work, on any backend
        options.groupSizes = {128};
        const SensitivityTable t = computeSensitivity(W, G, options);
        QCOMPARE(g_device->energyCalls, 1);
        QCOMPARE(QString::fromStdString(t.backend), QString("scripted:0"));
        QCOMPARE(*t.entries[0].relativeError, 0.25);  // the device's energies, in order
        QCOMPARE(*t.entries[1].relativeError, 0.5);
        QVERIFY(!t.entries[2].relativeError.has_value());
        QVERIFY(!t.entries[2].note.empty());
    }
    void sensitivityFallsBackToTheCpuAndSaysWhy() {
        g_device->mode = ScriptedDevice::Mode::Throw;
        const MatrixRM W = randomMatrix(64, 1024, 6) * 0.05f;
        const MatrixRMd G = MatrixRMd::Identity(1024, 1024);
        SensitivityOptions options;
        options.bits = {4};
        options.groupSizes = {128};
        const SensitivityTable t = computeSensitivity(W, G, options);
        QCOMPARE(QString::fromStdString(t.backend), QString("cpu (scripted:0: CUDA: cudaMalloc failed: out of memory)"));
        // With G = I the form is ‖ΔW‖² / ‖W‖², computed on the CPU.
        const QuantizedWeight q = quantizeRtn(W, {4, 128, false});
        const double expected = double((W - q.dequantize()).squaredNorm()) / double(W.squaredNorm());
        QVERIFY(std::abs(*t.entries[0].relativeError - expected) <= 1e-5 * expected);
    }
    void awqSearchRunsOnTheDevice() {
        // 1100 tokens of 1024 channels: the search goes through G [1024, 1024]; 64 × 1024² = 2^26.
        const MatrixRM X = randomMatrix(1100, 1024, 7);
        const MatrixRM W = randomMatrix(64, 1024, 8) * 0.05f;
        const AwqScaleSearch r = searchAwqScales(X, {&W}, {4, 128, false}, 20);
        QCOMPARE(g_device->energyCalls, 1);
        QCOMPARE(QString::fromStdString(r.backend), QString("scripted:0"));
        QCOMPARE(r.alpha, double(2.0f / 20.0f));  // the scripted minimum at the third α
        QCOMPARE(r.errors.size(), std::size_t(20));
    }
    void awqSearchFallsBackToTheCpu() {
        g_device->mode = ScriptedDevice::Mode::Throw;
        const MatrixRM X = randomMatrix(1100, 1024, 9);
        const MatrixRM W = randomMatrix(64, 1024, 10) * 0.05f;
        const AwqScaleSearch r = searchAwqScales(X, {&W}, {4, 128, false}, 4);
        QCOMPARE(QString::fromStdString(r.backend), QString("cpu (scripted:0: CUDA: cudaMalloc failed: out of memory)"));
        BackendRegistry::instance().setPreferred("cpu");
        const AwqScaleSearch cpu = searchAwqScales(X, {&W}, {4, 128, false}, 4);
        QVERIFY(r.errors == cpu.errors);
        QCOMPARE(r.alpha, cpu.alpha);
    }
    void smallSensitivityFormsStayOnTheCpu() {
        const SensitivityTable t = computeSensitivity(m_W, MatrixRMd::Identity(64, 64), {});
        QCOMPARE(g_device->energyCalls, 0);
        QCOMPARE(QString::fromStdString(t.backend), QString("cpu"));
    }
    void theCpuChoiceBypassesTheDevice() {
        BackendRegistry::instance().setPreferred("cpu");
        (void)quantizeGptqPreferred(m_W, m_H, m_spec, {}, m_ctx, "layer.q_proj");
        QCOMPARE(g_device->gptqCalls, 0);
        QCOMPARE(QString::fromStdString(BackendRegistry::instance().preferred()->name()), QString("cpu"));
    }
    void anUnknownDeviceIsRefusedWithTheList() {
        try {
            BackendRegistry::instance().setPreferred("cuda:3");
            QFAIL("expected an Error");
        } catch (const Error& e) {
            QCOMPARE(QString(e.what()), QString("--device cuda:3: no such device (this machine has: cpu, scripted:0)"));
        }
    }
};

QTEST_APPLESS_MAIN(TestQuantAccelerator)
#include "test_quant_accelerator.moc"

// quantbench-gpu-selftest — checks the CUDA backend against the CPU reference on random data.
//
// Prints one line per check (max relative error against its tolerance) and PASS or FAIL;
// exits 1 on any failure or CUDA error. Without a usable device it prints the probe's line
// and "SKIPPED" and exits 0, so it is safe to run anywhere.

#include <cstdio>
#include <exception>
#include <random>

#include "core/backend/cpu/cpu_backend.h"
#include "core/model/decoder_layer.h"
#include "gpu/cuda_backend.h"
#include "gpu/gpu_backend.h"

namespace {

using qb::core::Index;
using qb::core::MatrixRM;
using qb::core::MatrixRMd;

// Tolerances on max|gpu - cpu| / max|cpu| (FP32 with different summation orders).
constexpr double kLinearTolerance = 1e-5;
constexpr double kGramTolerance = 1e-5;
constexpr double kRmsNormTolerance = 1e-5;
constexpr double kRmsNormEps = 1e-5;

MatrixRM randomMatrix(Index rows, Index cols, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    MatrixRM m(rows, cols);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = dist(rng);
    return m;
}

// max|A - B| / max|B|: relative to the reference's scale, so entries near zero do not dominate.
template <class M>
double relativeError(const M& A, const M& B) {
    const double scale = B.size() ? double(B.cwiseAbs().maxCoeff()) : 0.0;
    const double diff = A.size() ? double((A - B).cwiseAbs().maxCoeff()) : 0.0;
    return scale > 0.0 ? diff / scale : diff;
}

bool report(const char* check, double error, double tolerance) {
    const bool pass = error <= tolerance;
    std::printf("  %-40s max rel error %.3g (tolerance %.0e)  %s\n", check, error, tolerance, pass ? "PASS" : "FAIL");
    return pass;
}

bool checkLinear(const qb::gpu::CudaBackend& gpu, const qb::core::CpuBackend& cpu, Index n, Index in, Index out) {
    const MatrixRM X = randomMatrix(n, in, 1);
    const MatrixRM W = randomMatrix(out, in, 2);
    MatrixRM Ygpu;
    MatrixRM Ycpu;
    gpu.linear(X, W, Ygpu);
    cpu.linear(X, W, Ycpu);
    const std::string label = "linear " + std::to_string(n) + "x" + std::to_string(in) + " . " +
                              std::to_string(out) + "x" + std::to_string(in) + "^T";
    return report(label.c_str(), relativeError(Ygpu, Ycpu), kLinearTolerance);
}

bool checkGram(const qb::gpu::CudaBackend& gpu, const qb::core::CpuBackend& cpu, Index n, Index d) {
    const MatrixRM X = randomMatrix(n, d, 3);
    // Start from a non-zero H to check that the backend adds rather than overwrites.
    const MatrixRMd H0 = randomMatrix(d, d, 4).cast<double>();
    MatrixRMd Hgpu = H0;
    MatrixRMd Hcpu = H0;
    gpu.accumulateGram(X, Hgpu);
    cpu.accumulateGram(X, Hcpu);
    const std::string label = "accumulateGram " + std::to_string(n) + "x" + std::to_string(d);
    return report(label.c_str(), relativeError(Hgpu, Hcpu), kGramTolerance);
}

bool checkRmsNorm(const qb::gpu::CudaBackend& gpu, Index rows, Index cols) {
    const MatrixRM X = randomMatrix(rows, cols, 5);
    const qb::core::VectorF weight = randomMatrix(1, cols, 6).row(0).transpose();
    MatrixRM Ygpu;
    MatrixRM Ycpu;
    gpu.rmsNorm(X, weight, kRmsNormEps, Ygpu);
    qb::core::rmsNorm(X, weight, kRmsNormEps, Ycpu);
    const std::string label = "rmsNorm " + std::to_string(rows) + "x" + std::to_string(cols);
    return report(label.c_str(), relativeError(Ygpu, Ycpu), kRmsNormTolerance);
}

}  // namespace

int main() {
    const qb::gpu::DeviceProbe probe = qb::gpu::probeCudaDevices();
    if (!probe.available) {
        std::printf("%s\nSKIPPED\n", probe.message.c_str());
        return 0;
    }
    try {
        const qb::gpu::CudaBackend gpu(probe.devices.front());
        const qb::core::CpuBackend cpu;
        std::printf("%s: %s\n", gpu.name().c_str(), gpu.description().c_str());
        bool pass = true;
        pass &= checkLinear(gpu, cpu, 512, 1024, 768);
        pass &= checkLinear(gpu, cpu, 1000, 333, 77);  // odd sizes
        pass &= checkGram(gpu, cpu, 5000, 384);         // three SSYRK chunks, the last partial
        pass &= checkGram(gpu, cpu, 37, 1001);          // odd d: partial tiles of the accumulate kernel
        pass &= checkRmsNorm(gpu, 300, 1000);
        pass &= checkRmsNorm(gpu, 7, 33);
        std::printf("%s\n", pass ? "PASS" : "FAIL");
        return pass ? 0 : 1;
    } catch (const std::exception& e) {
        std::printf("%s\nFAIL\n", e.what());
        return 1;
    }
}

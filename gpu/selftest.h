#pragma once
// The GPU self-test behind `quantbench-cli selftest`: every device op against the CPU
// reference on several shapes (odd ones included), with timings, then the bundled model
// quantized GPTQ W4 g32 on both backends and its perplexity compared.
//
// Pass criteria (per check, see selftest.cpp):
//   float ops (linear, Gram, RMSNorm)  NMSE = ‖gpu − cpu‖² / ‖cpu‖² ≤ 1e-6
//   RTN                                codes, scales and zeros identical
//   sensitivity forms                  relative errors within 1e-4 of the CPU's
//   GPTQ                               codes that differ ≤ 1 % and objectives within 1 %
//                                      (summation order differs, gpu/cuda_gptq.cpp); the
//                                      fraction of differing codes is reported as measured
//   model                              perplexities equal to 4 decimals
// Plain C++ header (no CUDA types).

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace qb::gpu {

class CudaBackend;

struct SelftestCheck {
    std::string op;        ///< "linear", "gram", "rmsnorm", "rtn", "gptq", "sensitivity", "model"
    std::string shape;     ///< "4096x4096 · 2048 rows", "W 4096x4096, 16384 tokens, w4 g128"
    std::string metric;    ///< "nmse", "codes differing", "perplexity |Δ|"
    double value = 0.0;
    double tolerance = 0.0;
    bool pass = false;
    double gpuSeconds = 0.0;  ///< the op end to end on the device backend (transfers included)
    double cpuSeconds = 0.0;  ///< the same op on the CPU backend
    std::string detail;       ///< more figures, one line ("objective 1.234e-2 vs 1.235e-2, λ ...")
};

struct SelftestOptions {
    std::string modelDir;  ///< the bundled model; empty: no model check
    std::string calibText;
    std::string evalText;
    bool quick = false;    ///< skip the 4096-wide shapes (the timing targets)
    std::function<void(const SelftestCheck&)> onCheck;  ///< called as each check finishes
};

struct SelftestReport {
    std::string device;     ///< "cuda:0 NVIDIA H200 (139.8 GiB, compute 9.0)"
    std::string cpu;        ///< the CPU backend's description
    std::vector<SelftestCheck> checks;
    bool pass = false;
    double seconds = 0.0;
};

/// Runs every check on gpu against the CPU backend. A check that throws is recorded as
/// failed with the error in detail; the others still run. Never throws for a device error.
[[nodiscard]] SelftestReport runSelftest(const CudaBackend& gpu, const SelftestOptions& options);

}  // namespace qb::gpu

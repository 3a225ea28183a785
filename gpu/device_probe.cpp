// Device detection: which CUDA devices this build can use, and a one-line reason when none.

#include <cuda_runtime.h>

#include <cstdio>

#include "gpu/cuda/cuda_check.h"
#include "gpu/cuda_backend.h"
#include "gpu/device_probe.h"
#include "gpu/gpu_backend.h"

#ifndef QB_CUDA_MIN_ARCH
#define QB_CUDA_MIN_ARCH 0
#endif

namespace qb::gpu {
namespace detail {

std::string deviceSummary(int device) {
    cudaDeviceProp prop{};
    QB_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    char line[384];
    std::snprintf(line, sizeof line, "%s (%.1f GiB, compute %d.%d)", prop.name,
                  double(prop.totalGlobalMem) / double(1ull << 30), prop.major, prop.minor);
    return line;
}

int minimumComputeCapability() { return QB_CUDA_MIN_ARCH; }

}  // namespace detail

namespace {

constexpr const char* kUsingCpu = "; using the CPU";

// Compute capability of device as major*10 + minor, or the CUDA error that prevented reading it.
cudaError_t computeCapability(int device, int& cc) {
    int major = 0;
    int minor = 0;
    cudaError_t status = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device);
    if (status == cudaSuccess) status = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device);
    cc = major * 10 + minor;
    return status;
}

std::string ccText(int cc) { return std::to_string(cc / 10) + "." + std::to_string(cc % 10); }

}  // namespace

DeviceProbe probeCudaDevices() {
    DeviceProbe probe;
    try {
        int count = 0;
        // With no driver this is error 35 (insufficient driver), with no device 100: both
        // mean "no GPU", so every error is reported the same way.
        if (const cudaError_t status = cudaGetDeviceCount(&count); status != cudaSuccess) {
            cudaGetLastError();  // clear the (non-sticky) error so later calls start clean
            probe.message = std::string("no CUDA device (cudaGetDeviceCount: ") + cudaGetErrorString(status) + ")" +
                            kUsingCpu;
            return probe;
        }
        if (count == 0) {
            probe.message = std::string("no CUDA device found") + kUsingCpu;
            return probe;
        }
        const int minCc = detail::minimumComputeCapability();
        std::string usable;
        std::string skipped;
        for (int device = 0; device < count; ++device) {
            int cc = 0;
            if (const cudaError_t status = computeCapability(device, cc); status != cudaSuccess) {
                skipped += (skipped.empty() ? "" : ", ") + std::string("device ") + std::to_string(device) + ": " +
                           cudaGetErrorString(status);
                continue;
            }
            const std::string summary = detail::deviceSummary(device);
            if (cc < minCc) {
                skipped += (skipped.empty() ? "" : ", ") + summary;
                continue;
            }
            probe.devices.push_back(device);
            usable += (usable.empty() ? "" : ", ") + summary;
        }
        probe.available = !probe.devices.empty();
        probe.message = probe.available
                            ? usable
                            : "no usable CUDA device (" + skipped + "; this build needs compute " + ccText(minCc) +
                                  " or newer)" + kUsingCpu;
    } catch (const std::exception& e) {  // deviceSummary's Error, or bad_alloc
        probe = DeviceProbe{};
        probe.message = std::string("no usable CUDA device (") + e.what() + ")" + kUsingCpu;
    }
    return probe;
}

std::shared_ptr<core::Backend> makeCudaBackend(int device) { return std::make_shared<CudaBackend>(device); }

}  // namespace qb::gpu

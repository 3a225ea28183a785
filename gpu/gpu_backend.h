#pragma once
// The public face of gpu/: device detection and construction of the CUDA backends.
// Plain C++ (no CUDA header): app/ includes this and registers what it returns with
// qb::core::BackendRegistry. Only built where nvcc was found at configure time
// (the target qbgpu defines QB_HAVE_CUDA=1 for its users).

#include <memory>
#include <string>
#include <vector>

#include "core/backend/backend.h"

namespace qb::gpu {

/// Outcome of looking for CUDA devices. message is one line for the user: when available,
/// the usable devices ("NVIDIA H100 80GB HBM3 (79.1 GiB, compute 9.0)", comma-separated);
/// otherwise the reason none can be used, ending in "; using the CPU".
struct DeviceProbe {
    bool available = false;    ///< at least one device this build can run on
    std::string message;       ///< never empty, never more than one line
    std::vector<int> devices;  ///< CUDA ordinals this build can run on (empty unless available)
};

/// Looks for CUDA devices this build supports (compute capability at least the lowest
/// architecture compiled, see gpu/CMakeLists.txt). Never throws, never aborts: any CUDA
/// error (no driver: error 35; no device: error 100) gives available = false and a message
/// such as "no CUDA device (cudaGetDeviceCount: CUDA driver version is insufficient for
/// CUDA runtime version); using the CPU". Thread-safe.
[[nodiscard]] DeviceProbe probeCudaDevices();

/// The CUDA backend ("cuda:<device>") of one device from DeviceProbe::devices. Throws
/// qb::core::Error when the device cannot be initialised (context, stream or cuBLAS handle).
[[nodiscard]] std::shared_ptr<core::Backend> makeCudaBackend(int device);

}  // namespace qb::gpu

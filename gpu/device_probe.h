#pragma once
// Internal to gpu/: one-line device summaries shared by the probe and CudaBackend.

#include <string>

namespace qb::gpu::detail {

/// "NVIDIA H100 80GB HBM3 (79.1 GiB, compute 9.0)". Throws qb::core::Error on a CUDA error.
[[nodiscard]] std::string deviceSummary(int device);

/// Lowest compute capability (major*10 + minor) the compiled kernels run on, from the
/// lowest entry of CMAKE_CUDA_ARCHITECTURES (0 when unknown: no check).
[[nodiscard]] int minimumComputeCapability();

}  // namespace qb::gpu::detail

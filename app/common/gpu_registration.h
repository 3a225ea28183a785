#pragma once
// GPU start-up shared by the GUI and CLI mains.

#include <string>

namespace qb::app {

/// Registers every usable CUDA device with qb::core::BackendRegistry (once per process;
/// later calls register nothing new) and returns one line for the user:
///   "GPU: NVIDIA H100 80GB HBM3 (79.1 GiB, compute 9.0)"
///   "GPU backend not built (no nvcc at configure time); using the CPU"
///   "no CUDA device (cudaGetDeviceCount: ...); using the CPU"
/// Never throws: a device that fails to initialise is reported in the line and the CPU is used.
/// Call from main before any job starts.
[[nodiscard]] std::string registerGpuBackends();

}  // namespace qb::app

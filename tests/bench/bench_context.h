#pragma once
// The machine a benchmark ran on, printed in Google Benchmark's context block: the CPU model,
// its ISA flags, the packed kernels' path and the thread count (qb_cpu_model, qb_isa,
// qb_kernel_path, qb_threads), so that every figure names the machine that gave it.

namespace qb::bench {

void addMachineContext();

}  // namespace qb::bench

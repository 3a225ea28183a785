#include "bench_context.h"

#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <utility>

#include "core/backend/backend.h"
#include "core/kernels/cpu_features.h"

namespace qb::bench {

namespace {
std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}
}  // namespace

void addMachineContext() {
    namespace k = qb::core::kernels;
    const k::CpuFeatures& f = k::cpuFeatures();
    std::string isa;
    for (const auto& [on, name] : {std::pair{f.avx2, "avx2"}, {f.fma, "fma"}, {f.f16c, "f16c"}, {f.avx512vnni, "avx512vnni"}})
        if (on) isa += std::string(isa.empty() ? "" : " ") + name;
    benchmark::AddCustomContext("qb_cpu_model", cpuModel());
    benchmark::AddCustomContext("qb_isa", isa.empty() ? "none" : isa);
    benchmark::AddCustomContext("qb_kernel_path", k::kernelPathName(k::activeKernelPath()));
    benchmark::AddCustomContext("qb_threads", std::to_string(qb::core::threadCount()));
}

}  // namespace qb::bench

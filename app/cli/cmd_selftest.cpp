// quantbench-cli selftest — the CUDA backend against the CPU reference (gpu/selftest.h).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "core/backend/backend.h"
#include "core/util/error.h"
#include "core/util/resource_paths.h"
#if QB_HAVE_CUDA
#include "gpu/cuda_backend.h"
#include "gpu/selftest.h"
#endif

namespace qb::cli {

#if QB_HAVE_CUDA

namespace {

// The given path, else the bundled one (core/util/resource_paths: installed prefix or source tree).
std::string orDefault(const std::string& given, const std::optional<std::filesystem::path>& bundled) {
    if (!given.empty()) return given;
    return bundled && std::filesystem::exists(*bundled) ? bundled->string() : std::string();
}

void printCheck(const gpu::SelftestCheck& c) {
    std::printf("%-8s %-52s %s %.3g (limit %.0e)", c.op.c_str(), c.shape.c_str(), c.metric.c_str(), c.value, c.tolerance);
    if (c.gpuSeconds > 0.0 && c.cpuSeconds > 0.0)
        std::printf("  gpu %.4f s  cpu %.4f s  %.1fx", c.gpuSeconds, c.cpuSeconds, c.cpuSeconds / c.gpuSeconds);
    std::printf("  %s\n", c.pass ? "PASS" : "FAIL");
    if (!c.detail.empty()) std::printf("         %s\n", c.detail.c_str());
    std::fflush(stdout);
}

}  // namespace

int runSelftest(const SelftestArgs& args) {
    auto& registry = core::BackendRegistry::instance();
    std::shared_ptr<core::Backend> backend;
    if (!args.device.empty()) {
        backend = registry.find(args.device);
        if (!backend) throw core::Error("selftest: --device " + args.device + ": no such CUDA device on this machine");
    } else {
        for (const auto& b : registry.all())
            if (dynamic_cast<const gpu::CudaBackend*>(b.get())) {
                backend = b;
                break;
            }
        if (!backend) throw core::Error("selftest: no usable CUDA device on this machine, nothing to test");
    }
    const auto* cuda = dynamic_cast<const gpu::CudaBackend*>(backend.get());
    if (!cuda) throw core::Error("selftest: " + backend->name() + " is not a CUDA device");

    gpu::SelftestOptions options;
    options.modelDir = orDefault(args.model, core::bundledModelDir());
    options.calibText = orDefault(args.calib, core::bundledText("calib.txt"));
    options.evalText = orDefault(args.text, core::bundledText("eval.txt"));
    if (options.calibText.empty() || options.evalText.empty()) options.modelDir.clear();
    options.quick = args.quick;
    if (!args.json) {
        std::printf("device   %s\ncpu      %s\n", (cuda->name() + " " + cuda->description()).c_str(),
                    core::BackendRegistry::instance().cpu()->description().c_str());
        if (options.modelDir.empty()) std::printf("model    none given and resources/ not found: no model check\n");
        options.onCheck = printCheck;
    }
    const gpu::SelftestReport report = gpu::runSelftest(*cuda, options);
    if (args.json) {
        nlohmann::ordered_json j;
        j["device"] = report.device;
        j["cpu"] = report.cpu;
        for (const auto& c : report.checks)
            j["checks"].push_back({{"op", c.op},
                                   {"shape", c.shape},
                                   {"metric", c.metric},
                                   {"value", c.value},
                                   {"tolerance", c.tolerance},
                                   {"pass", c.pass},
                                   {"gpu_seconds", c.gpuSeconds},
                                   {"cpu_seconds", c.cpuSeconds},
                                   {"detail", c.detail}});
        j["pass"] = report.pass;
        j["seconds"] = report.seconds;
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        std::printf("%s in %.1f s\n", report.pass ? "PASS" : "FAIL", report.seconds);
    }
    return report.pass ? 0 : 1;
}

#else

int runSelftest(const SelftestArgs&) {
    throw core::Error("selftest: this build has no CUDA backend (nvcc was not found when it was configured)");
}

#endif

}  // namespace qb::cli

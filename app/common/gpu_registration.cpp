#include "app/common/gpu_registration.h"

#if QB_HAVE_CUDA
#include <exception>
#include <mutex>

#include "core/backend/backend.h"
#include "gpu/gpu_backend.h"
#endif

namespace qb::app {

#if QB_HAVE_CUDA

namespace {

// Registers each usable device; one that fails to initialise is named in the line and skipped.
std::string registerOnce() {
    const gpu::DeviceProbe probe = gpu::probeCudaDevices();
    if (!probe.available) return probe.message;
    auto& registry = core::BackendRegistry::instance();
    std::string registered;
    std::string failed;
    for (const int device : probe.devices) {
        try {
            auto backend = gpu::makeCudaBackend(device);
            const std::string description = backend->description();
            if (!registry.find(backend->name())) registry.add(std::move(backend));
            registered += (registered.empty() ? "" : ", ") + description;
        } catch (const std::exception& e) {  // qb::core::Error from device initialisation
            failed += std::string(failed.empty() ? "" : "; ") + e.what();
        }
    }
    if (registered.empty()) return "GPU backend unavailable (" + failed + "); using the CPU";
    return "GPU: " + registered + (failed.empty() ? "" : " (skipped: " + failed + ")");
}

}  // namespace

std::string registerGpuBackends() {
    static std::once_flag once;
    static std::string line;
    std::call_once(once, [] { line = registerOnce(); });
    return line;
}

#else

std::string registerGpuBackends() { return "GPU backend not built (no nvcc at configure time); using the CPU"; }

#endif

}  // namespace qb::app

#include "core/backend/backend.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/backend/cpu/cpu_backend.h"
#include "core/util/error.h"

namespace qb::core {

struct BackendRegistry::Impl {
    mutable std::mutex mutex;
    std::vector<std::shared_ptr<Backend>> backends;
    std::shared_ptr<Backend> chosen;  // setPreferred()
};

BackendRegistry::BackendRegistry() : m_impl(std::make_shared<Impl>()) {
    m_impl->backends.push_back(std::make_shared<CpuBackend>());
}

BackendRegistry& BackendRegistry::instance() {
    static BackendRegistry registry;
    return registry;
}

void BackendRegistry::add(std::shared_ptr<Backend> backend) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->backends.push_back(std::move(backend));
}

std::shared_ptr<Backend> BackendRegistry::cpu() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->backends.front();
}

std::shared_ptr<Backend> BackendRegistry::find(const std::string& name) const {
    std::lock_guard lock(m_impl->mutex);
    for (const auto& b : m_impl->backends)
        if (b->name() == name) return b;
    return nullptr;
}

std::shared_ptr<Backend> BackendRegistry::preferred() const {
    std::lock_guard lock(m_impl->mutex);
    if (m_impl->chosen) return m_impl->chosen;
    return m_impl->backends.size() > 1 ? m_impl->backends[1] : m_impl->backends.front();
}

void BackendRegistry::setPreferred(const std::string& name) {
    std::lock_guard lock(m_impl->mutex);
    std::string names;
    for (const auto& b : m_impl->backends) {
        if (b->name() == name) {
            m_impl->chosen = b;
            return;
        }
        names += (names.empty() ? "" : ", ") + b->name();
    }
    throw Error("--device " + name + ": no such device (this machine has: " + names + ")");
}

std::vector<std::shared_ptr<Backend>> BackendRegistry::all() const {
    std::lock_guard lock(m_impl->mutex);
    return m_impl->backends;
}

const Backend& backendFor(BackendOp op, Index rows, Index inner, Index cols) {
    // The registry keeps backends alive for the whole process, so a reference is safe.
    static thread_local std::shared_ptr<Backend> keep;
    auto& reg = BackendRegistry::instance();
    keep = reg.preferred();
    if (!keep->supports(op, rows, inner, cols)) keep = reg.cpu();
    return *keep;
}

namespace {
std::atomic<int> g_threads{0};
}

void setThreadCount(int n) {
    g_threads.store(std::max(1, n));
    omp_set_num_threads(std::max(1, n));
}

int threadCount() {
    const int n = g_threads.load();
    if (n > 0) return n;
    return std::max(1, int(std::thread::hardware_concurrency()));
}

}  // namespace qb::core

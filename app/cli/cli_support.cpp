#include "app/cli/cli_support.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/store/session_store.h"

namespace qb::cli {

namespace {

// The context a signal stops. requestStop() is one store to a lock-free std::atomic<bool>,
// which a signal handler may do.
std::atomic<const core::RunContext*> g_stopTarget{nullptr};

void requestStopOnSignal(int) {
    if (const core::RunContext* ctx = g_stopTarget.load()) ctx->requestStop();
}

}  // namespace

StopOnSignal::StopOnSignal(const core::RunContext& ctx) : m_previousTarget(g_stopTarget.load()) {
    static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<const core::RunContext*>::is_always_lock_free);
    g_stopTarget.store(&ctx);
    struct sigaction action {};
    action.sa_handler = requestStopOnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART | SA_RESETHAND;  // system calls resume; a second signal is not caught
    sigaction(SIGINT, &action, &m_previousInt);
    sigaction(SIGTERM, &action, &m_previousTerm);
}

StopOnSignal::~StopOnSignal() {
    sigaction(SIGINT, &m_previousInt, nullptr);
    sigaction(SIGTERM, &m_previousTerm, nullptr);
    g_stopTarget.store(m_previousTarget);
}

std::string humanBytes(std::uint64_t bytes) {
    const char* units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
    return buf;
}

std::string withThousands(std::uint64_t n) {
    // Copied digit by digit (GCC 12's -Wrestrict warns falsely on insert into the string itself).
    const std::string digits = std::to_string(n);
    std::string s;
    s.reserve(digits.size() + digits.size() / 3);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
        s += digits[i];
    }
    return s;
}

core::RunContext terminalContext(bool quiet) {
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    // Test-only hook (tests/app/test_cli_interrupt): QB_TEST_SIGINT_AT=PREFIX raises SIGINT once,
    // when the first stage starting with PREFIX reports progress — a Ctrl-C at a known point of
    // the run (a tensor, a layer, a report section), without timing.
    const char* hook = std::getenv("QB_TEST_SIGINT_AT");
    auto sigintAt = std::make_shared<std::string>(hook ? hook : "");
    auto progress = [tty, quiet, sigintAt](double f, std::string_view stage) {
        if (!sigintAt->empty() && stage.substr(0, sigintAt->size()) == *sigintAt) {
            sigintAt->clear();
            ::raise(SIGINT);
        }
        if (!tty || quiet) return;
        std::fprintf(stderr, "\r%-24.*s %5.1f%%", int(stage.size()), stage.data(), 100.0 * f);
        if (f >= 1.0) std::fprintf(stderr, "\r%40s\r", "");
        std::fflush(stderr);
    };
    auto log = [quiet](std::string_view line) {
        if (!quiet) std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
    };
    return core::RunContext(progress, log);
}

nlohmann::ordered_json protocolJson(const core::Protocol& protocol) {
    return nlohmann::ordered_json::parse(core::protocolToJson(protocol));
}

SessionAppend::SessionAppend(std::string path) : m_path(std::move(path)) {}

void SessionAppend::check() const {
    if (enabled()) core::SessionStore::checkAppendable(m_path);
}

std::string SessionAppend::append(const core::RunRecord& run, const std::function<core::SessionProvenance()>& makeProvenance) const {
    if (!enabled()) return {};
    const bool exists = std::filesystem::exists(m_path);
    return core::SessionStore::appendNumberedRun(m_path, run, exists ? core::SessionProvenance{} : makeProvenance());
}

std::string absoluteFolder(const std::string& dir) {
    std::filesystem::path p = std::filesystem::absolute(dir).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();  // "model/" names the same folder as "model"
    return p.string();
}

}  // namespace qb::cli

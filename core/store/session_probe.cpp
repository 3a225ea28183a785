#include "core/store/session_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <new>
#include <set>

#include "core/util/error.h"

namespace qb::core {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr std::size_t kMaxMessage = 4096;  // one line for the user; the pipe never fills

/// The child's address space now, from /proc/self/statm (0 when unreadable).
std::uint64_t currentAddressSpace() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long long pages = 0;
    const int n = std::fscanf(f, "%llu", &pages);
    std::fclose(f);
    return n == 1 ? pages * std::uint64_t(sysconf(_SC_PAGESIZE)) : 0;
}

/// In the child: RLIMIT_AS = what it inherited + memoryBytes (never above a lower limit the
/// user set); no core dump for a crash the parent reports anyway; and the default action for
/// the fatal signals, so a crash handler the application (or Qt Test, or a sanitizer)
/// installed does not report the child's crash as its own. SIGINT and SIGTERM keep the
/// application's handling: a Ctrl-C in the terminal reaches the child too.
void limitChild(std::uint64_t memoryBytes) {
    for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS}) std::signal(sig, SIG_DFL);
    const rlimit noCore{0, 0};
    setrlimit(RLIMIT_CORE, &noCore);
    rlimit as{};
    if (getrlimit(RLIMIT_AS, &as) != 0) return;
    const std::uint64_t bound = currentAddressSpace() + memoryBytes;
    if (as.rlim_cur == RLIM_INFINITY || bound < as.rlim_cur) {
        as.rlim_cur = bound;
        setrlimit(RLIMIT_AS, &as);
    }
}

void writeAll(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += std::size_t(n);
    }
}

/// The child: runs body, writes one record (verdict byte, then the message) and leaves with
/// _exit(0) — a child that ends any other way has crashed.
[[noreturn]] void childMain(int fd, const std::function<void()>& body, std::uint64_t memoryBytes) {
    limitChild(memoryBytes);
    ProbeVerdict verdict = ProbeVerdict::Finished;
    std::string message;
    try {
        try {
            body();
        } catch (const std::bad_alloc&) {
            verdict = ProbeVerdict::OutOfMemory;
        } catch (const std::exception& e) {
            verdict = ProbeVerdict::Failed;
            message.assign(e.what(), std::min(std::strlen(e.what()), kMaxMessage));
        } catch (...) {
            verdict = ProbeVerdict::Failed;
            message = "an unknown exception";
        }
        writeAll(fd, char(verdict) + message);
    } catch (...) {  // the record itself did not fit in memory
        writeAll(fd, std::string(1, char(ProbeVerdict::OutOfMemory)));
    }
    _exit(0);
}

/// Reads the child's record until EOF or the deadline; false at the deadline.
bool readRecord(int fd, std::chrono::steady_clock::time_point deadline, std::string& record) {
    char buf[1024];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        const int ready = poll(&p, 1, int(std::min<std::int64_t>(left.count(), 60'000)));
        if (ready < 0 && errno == EINTR) continue;
        if (ready == 0) continue;  // the loop head decides whether time is up
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;  // EOF: the child exited or closed its end
        if (record.size() < kMaxMessage + 1) record.append(buf, std::size_t(n));
    }
}

pid_t reap(pid_t pid, int& status) {
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    return r;
}

}  // namespace

ProbeLimits sessionProbeLimits(std::uintmax_t fileBytes) {
    ProbeLimits limits;
    limits.timeout = std::chrono::seconds(30) + std::chrono::milliseconds(250 * (fileBytes / kMiB));
    limits.memoryBytes = 1024 * kMiB + 16 * std::uint64_t(fileBytes);
    return limits;
}

bool probeReportsOutOfMemory() {
#if defined(__SANITIZE_ADDRESS__)
    return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return false;
#else
    return true;
#endif
#else
    return true;
#endif
}

ProbeResult runInChildProcess(const std::function<void()>& body, const ProbeLimits& limits) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        throw Error(std::string("cannot start the process that checks the file (pipe: ") + std::strerror(errno) + ")");
    const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
    const pid_t pid = fork();
    if (pid < 0) {
        const int err = errno;
        close(fds[0]);
        close(fds[1]);
        throw Error(std::string("cannot start the process that checks the file (fork: ") + std::strerror(err) + ")");
    }
    if (pid == 0) {
        close(fds[0]);
        childMain(fds[1], body, limits.memoryBytes);
    }
    close(fds[1]);
    std::string record;
    const bool inTime = readRecord(fds[0], deadline, record);
    close(fds[0]);
    int status = 0;
    if (!inTime) {
        kill(pid, SIGKILL);
        reap(pid, status);
        return {ProbeVerdict::TimedOut, {}};
    }
    // waitpid fails only where the application ignores SIGCHLD (the kernel reaps the child):
    // then the record alone tells whether the child got to the end.
    const bool reaped = reap(pid, status) >= 0;
    const bool reported = !record.empty() && record[0] >= 0 && record[0] <= char(ProbeVerdict::TimedOut);
    if (reaped && WIFSIGNALED(status)) return {ProbeVerdict::Crashed, strsignal(WTERMSIG(status))};
    if (!reported || (reaped && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)))
        return {ProbeVerdict::Crashed, reaped ? "exit status " + std::to_string(WEXITSTATUS(status)) : "no report"};
    return {ProbeVerdict(record[0]), record.substr(1)};
}

std::string probeFailureMessage(const ProbeResult& result, const ProbeLimits& limits) {
    switch (result.verdict) {
    case ProbeVerdict::Finished:
        return {};
    case ProbeVerdict::Failed:
        return result.message;
    case ProbeVerdict::Crashed:
        return "damaged session file (the HDF5 library crashed reading it: " + result.message + ")";
    case ProbeVerdict::OutOfMemory:
        return "reading it needs more than " + std::to_string(limits.memoryBytes / kMiB) +
               " MB of memory; refused as a damaged session file";
    case ProbeVerdict::TimedOut:
        return "reading it did not finish in " +
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limits.timeout).count()) +
               " s; refused as a damaged session file";
    }
    return "unknown probe verdict";
}

// ---- ProbedFiles ------------------------------------------------------------------------

namespace {

std::set<FileIdentity>& probedSet() {
    static std::set<FileIdentity> files;
    return files;
}

}  // namespace

std::optional<FileIdentity> fileIdentity(const fs::path& path) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(path, ec);
    struct stat st{};
    if (ec || stat(canonical.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
    return FileIdentity{canonical.string(), std::uint64_t(st.st_dev), std::uint64_t(st.st_ino), std::uint64_t(st.st_size),
                        std::int64_t(st.st_mtim.tv_sec), std::int64_t(st.st_mtim.tv_nsec),
                        std::int64_t(st.st_ctim.tv_sec), std::int64_t(st.st_ctim.tv_nsec)};
}

bool ProbedFiles::contains(const FileIdentity& file) {
    return probedSet().count(file) == 1;
}

void ProbedFiles::remember(const FileIdentity& file) {
    probedSet().insert(file);
}

}  // namespace qb::core

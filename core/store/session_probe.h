#pragma once
// A read of a session file in a child process, before quantbench reads it in its own.
//
// Debian 12's libhdf5 1.10.8 crashes, loops or allocates gigabytes on crafted files
// (tests/fuzz/known/README.md); quantbench cannot fix the library, so SessionStore lets a
// forked child read the file first (runInChildProcess) under an address-space bound and a
// deadline, and reads it itself only when the child finished. A child that died by a signal,
// ran out of its memory bound or missed the deadline becomes one Error line
// (probeFailureMessage), and the user's process (CLI or workbench) lives on.
//
// Fork safety. The workbench is multithreaded; after fork() only the forking thread exists in
// the child, and any lock another thread held at that moment stays locked there for good. The
// caller therefore holds the process-wide HDF5 mutex (hdf5Mutex() in session_store.cpp, taken
// by every SessionStore call) across runInChildProcess, so no other thread is inside libhdf5
// when the child starts, and the child never takes that mutex (its body calls the unlocked
// readers). glibc's malloc resets its arena locks in the child (fork-safe). The body must not
// start threads or use OpenMP (libgomp's pool does not survive a fork); the session readers do
// neither. The child runs only the body, reports through a pipe and leaves with _exit(): no
// atexit handler (libhdf5's H5close would flush files the parent has open), no return into
// the caller's stack, no Qt.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace qb::core {

/// The bounds of one child read.
struct ProbeLimits {
    /// The child is killed (SIGKILL) after this long.
    std::chrono::milliseconds timeout{30'000};
    /// Address space the child may add to what it inherited (RLIMIT_AS = inherited + this).
    /// Relative, not absolute: the workbench with a model mapped already holds gigabytes of
    /// address space, and an AddressSanitizer build reserves terabytes of shadow at start;
    /// both are in the child's address space before the read begins.
    std::uint64_t memoryBytes = 0;
};

/// The bounds for a session file of fileBytes bytes: 30 s + 0.25 s per MiB, and 1 GiB + 16 ×
/// the file size.
/// Why: reading a session holds every module's statistics at once (SessionData), plus
/// libhdf5's per-dataset chunk cache (1 MiB) and decompression buffers. Reading the bundled
/// model's 2.1 MB session (35 modules) grew the reader's address space by 2.1 MB and its
/// resident memory by 1.9 MB, about 1 × the file; 16 × leaves room for datasets that deflate
/// compresses well, and 1 GiB for the library itself on small files. A crafted 17 KB file
/// that makes libhdf5 allocate 4 GB for one string is refused at once. The same session read
/// in 50–120 ms on a 2-core machine at load 6–8 (about 25–60 ms per MiB) and was probed and
/// read in 310–530 ms (BENCHMARKS.md, issue 17): 30 s is 60 × that, and 0.25 s per MiB is
/// 4–10 × the slowest read rate seen, for the sessions of large models.
[[nodiscard]] ProbeLimits sessionProbeLimits(std::uintmax_t fileBytes);

/// How a child read ended.
enum class ProbeVerdict {
    Finished,     ///< body returned
    Failed,       ///< body threw Error: message holds its text (the same error an in-process read gives)
    Crashed,      ///< killed by a signal, or exited without reporting (a sanitizer's report)
    OutOfMemory,  ///< body threw std::bad_alloc (an allocation refused by the address-space bound)
    TimedOut,     ///< still running at the deadline; killed
};

struct ProbeResult {
    ProbeVerdict verdict = ProbeVerdict::Finished;
    std::string message;  ///< Failed: the Error's text; Crashed: the signal or exit status
};

/// Runs body in a forked child under limits and says how it ended; the child's memory and
/// effects vanish with it. body reports memory exhaustion by throwing std::bad_alloc and a
/// clean refusal by throwing Error; any other exception counts as Failed with its what().
/// Blocks the calling thread until the child is gone (at most limits.timeout plus the reap).
/// Throws Error only when no child can be started (fork or pipe failing).
/// Caller's duty: hold every lock the body's code takes (see the header comment).
/// Under AddressSanitizer the child's refused allocation ends in ASan's own report and exit,
/// so there it reads as Crashed, not OutOfMemory.
[[nodiscard]] ProbeResult runInChildProcess(const std::function<void()>& body, const ProbeLimits& limits);

/// False in an AddressSanitizer build, where a refused allocation ends in ASan's own report
/// and exit (Crashed) rather than std::bad_alloc (OutOfMemory).
[[nodiscard]] bool probeReportsOutOfMemory();

/// The one-line reason (no file name; the caller prefixes it) for a result other than
/// Finished: "damaged session file (the HDF5 library crashed reading it: Segmentation
/// fault)", "reading it needs more than 1024 MB of memory; refused as a damaged session
/// file", "reading it did not finish in 30 s; refused as a damaged session file", or a
/// Failed body's own message.
[[nodiscard]] std::string probeFailureMessage(const ProbeResult& result, const ProbeLimits& limits);

/// What identifies one version of a file: a file changed or replaced since has another. The
/// status-change time is part of it because no one can set it (cp -p and touch -d copy or set
/// the modification time; a new or rewritten inode always gets a new ctime).
struct FileIdentity {
    std::string canonicalPath;
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtimeSeconds = 0, mtimeNanoseconds = 0, ctimeSeconds = 0, ctimeNanoseconds = 0;
    auto operator<=>(const FileIdentity&) const = default;
};
/// path's identity now; nullopt when it is not a regular file that can be stat'ed.
[[nodiscard]] std::optional<FileIdentity> fileIdentity(const std::filesystem::path& path);

/// The files whose whole content is known to read safely in this process: probed with success
/// or written by it. Process-wide; not thread-safe (callers hold the HDF5 mutex).
class ProbedFiles {
public:
    [[nodiscard]] static bool contains(const FileIdentity& file);
    static void remember(const FileIdentity& file);
};

}  // namespace qb::core

#pragma once
// SessionStore — one HDF5 file per session (layout and version policy: docs/session-format.md).
//
// Every write is atomic: the new content goes to "<file>.tmp-<pid>" in the same folder, which
// is then renamed over the file, so a crash never leaves a half-written session. Appending a
// plan or a run copies the file, adds to the copy and renames it.
// Opening checks, in order, and throws Error with one line naming the file:
//   missing file · not HDF5 (garbage bytes) · damaged or truncated HDF5 · HDF5 without
//   format="quantbench-session" (a foreign file) · schema_version newer than kSessionSchemaVersion.
// Before those checks, a file this process has not read or written in its current version is
// read in full by a forked child (session_probe.h): a crash, an allocation past the bound or a
// hang inside libhdf5 there is the Error "<file>: damaged session file (the HDF5 library crashed
// reading it: …)" / "…needs more than N MB of memory…" / "…did not finish in N s…".
// HDF5's own error printing is silenced; no HDF5 exception leaves this class.
// Thread-safety: all functions may be called from any thread; HDF5 access is serialised
// by one process-wide mutex, held also while a probe's child reads (up to its deadline).

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/store/session_data.h"
#include "core/util/error.h"

namespace H5 {
class Group;
}

namespace qb::core {

class SessionStore {
public:
    /// Writes data as a new session file at path (replacing any file there), with
    /// schema_version = kSessionSchemaVersion. Modules that share an ActivationStats object are
    /// stored once and hard-linked. Throws Error "<file>: <problem>".
    static void write(const std::filesystem::path& path, const SessionData& data);
    /// Reads every attribute and dataset back. Throws Error as described above.
    [[nodiscard]] static SessionData read(const std::filesystem::path& path);

    /// Adds plan to the session at path, replacing a plan of the same name.
    static void writePlan(const std::filesystem::path& path, const PlanRecord& plan);
    /// The plan called name; throws Error "<file>: no plan named 'name'".
    [[nodiscard]] static PlanRecord readPlan(const std::filesystem::path& path, const std::string& name);
    /// Names of the stored plans, sorted.
    [[nodiscard]] static std::vector<std::string> planNames(const std::filesystem::path& path);

    /// Adds run to the session at path, replacing a run with the same id (which keeps its position).
    static void writeRun(const std::filesystem::path& path, const RunRecord& run);
    /// The run with this id; throws Error "<file>: no run with id 'id'".
    [[nodiscard]] static RunRecord readRun(const std::filesystem::path& path, const std::string& id);
    /// Ids of the stored runs in the order they were first written.
    [[nodiscard]] static std::vector<std::string> runIds(const std::filesystem::path& path);

    /// For a caller that appends after long work (quantbench-cli --session): checks first that
    /// a run can be appended to path. An existing file must be a session this build reads,
    /// runs included (the errors of read()); a missing file needs an existing folder.
    static void checkAppendable(const std::filesystem::path& path);
    /// Appends run as the next numbered run, numbered as the workbench numbers its runs: id
    /// "run-<n>" and metric run_number = n, with n one more than the largest run number in the
    /// session (1 in a new one); a run with a plan also stores it as plan "run-<n>" and names it
    /// (planName). When path does not exist, the session is created with provenanceIfNew and
    /// no modules. Atomic like every write: a failure or crash leaves the previous file as it
    /// was. Returns the id given. Throws Error "<file>: <problem>".
    static std::string appendNumberedRun(const std::filesystem::path& path, RunRecord run,
                                         const SessionProvenance& provenanceIfNew);

    /// For the core/store files that keep their own group in a session (plan_cost_store.h):
    /// edit changes the root group of a copy of the session, which is then renamed over path
    /// (atomic like every write). A missing path is first created as a session with
    /// provenanceIfNew and nothing else. HDF5 serialised; failures as one Error "<file>: <problem>".
    static void editRoot(const std::filesystem::path& path, const SessionProvenance& provenanceIfNew,
                         const std::function<void(const H5::Group&)>& edit);
    /// read looks at the root group of the session at path, opened read-only and checked as read() checks.
    static void readRoot(const std::filesystem::path& path, const std::function<void(const H5::Group&)>& read);
};

/// Writes a new session one module at a time, for a caller that streams statistics and must
/// not hold them all (inspect on a large model). Content goes to "<file>.tmp-<pid>"; commit()
/// renames it over the file. A writer destroyed before commit() removes its temp file, so an
/// interrupted or failed inspect leaves neither a session nor debris. Every error is an Error
/// "<file>: <problem>"; the HDF5 file stays open (and the process-wide HDF5 lock is taken per
/// call) for the writer's lifetime.
class SessionWriter {
public:
    /// Creates the temp file and writes the provenance. Throws Error for an unwritable folder.
    SessionWriter(const std::filesystem::path& path, const SessionProvenance& provenance);
    ~SessionWriter();
    SessionWriter(const SessionWriter&) = delete;
    SessionWriter& operator=(const SessionWriter&) = delete;

    /// Appends module under /modules (after the ones added before). Modules that share an
    /// ActivationStats object still alive are hard-linked, as in SessionStore::write.
    void addModule(const ModuleStats& module);
    /// Modules added so far.
    [[nodiscard]] std::size_t moduleCount() const;
    /// Adds empty plans and runs groups, closes the file and renames it over path. The writer
    /// takes no more modules after.
    void commit();

private:
    friend class SessionStore;
    struct Impl;
    std::unique_ptr<Impl> m;
};

/// The current time as ISO-8601 UTC with a 'Z' suffix, e.g. "2025-01-31T17:04:05Z".
[[nodiscard]] std::string utcNowIso8601();

}  // namespace qb::core

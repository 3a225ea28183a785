#pragma once
// Small printing helpers shared by the subcommands.

#include <signal.h>

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/store/run_protocol.h"
#include "core/store/session_data.h"
#include "core/util/run_context.h"

namespace qb::cli {

/// "1.04 MB", "2.13 GB" (SI units, as disk tools print sizes).
std::string humanBytes(std::uint64_t bytes);
/// "12,345"
std::string withThousands(std::uint64_t n);
/// A RunContext printing a one-line progress bar on stderr when stderr is a terminal (and
/// nothing otherwise), and log lines on stderr unless quiet. Test-only: with the environment
/// variable QB_TEST_SIGINT_AT=PREFIX the process raises SIGINT once, when a stage starting with
/// PREFIX ("writing blk.1.", "export layer 1", "report section plan") first reports progress.
core::RunContext terminalContext(bool quiet);

/// The protocol as the JSON object the subcommands print under "protocol".
nlohmann::ordered_json protocolJson(const core::Protocol& protocol);

/// `--session S.h5` of eval, quantize and bench: appends the command's run to the HDF5 session
/// the workbench opens. check() runs before any work, so a session that cannot be read (or a
/// missing folder) is one error line and nothing is written; append() adds the run, creating
/// the session when the file does not exist (makeProvenance() is called only then). Empty
/// path: both do nothing.
class SessionAppend {
public:
    explicit SessionAppend(std::string path);
    void check() const;
    /// Appends run; returns its id ("run-3"), empty when there is no session.
    std::string append(const core::RunRecord& run, const std::function<core::SessionProvenance()>& makeProvenance) const;
    [[nodiscard]] bool enabled() const { return !m_path.empty(); }
    [[nodiscard]] const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

/// The folder a run's figures are of, absolute (RunRecord::modelPath).
std::string absoluteFolder(const std::string& dir);

/// While alive, SIGINT (Ctrl-C) and SIGTERM call ctx.requestStop(): the running core call
/// throws core::Cancelled at its next check (once per layer or chunk), which cleans up what it
/// was writing and reaches main() as "error: cancelled", exit status 1. A second signal gets
/// the default action (the process ends at once). The signals are caught even when the process
/// started with them ignored (a background job of a script). The previous handlers and stop
/// target come back when this object is destroyed, so one may nest inside another (quantize
/// --export runs the export command's). ctx must outlive it.
class StopOnSignal {
public:
    explicit StopOnSignal(const core::RunContext& ctx);
    ~StopOnSignal();
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;

private:
    const core::RunContext* m_previousTarget;
    struct sigaction m_previousInt {};
    struct sigaction m_previousTerm {};
};

}  // namespace qb::cli

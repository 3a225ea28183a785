#pragma once
// Small printing helpers shared by the subcommands.

#include <cstdint>
#include <string>

#include "core/util/run_context.h"

namespace qb::cli {

/// "1.04 MB", "2.13 GB" (SI units, as disk tools print sizes).
std::string humanBytes(std::uint64_t bytes);
/// "12,345"
std::string withThousands(std::uint64_t n);
/// A RunContext printing a one-line progress bar on stderr when stderr is a terminal (and
/// nothing otherwise), and log lines on stderr unless quiet.
core::RunContext terminalContext(bool quiet);

/// While alive, SIGINT (Ctrl-C) and SIGTERM call ctx.requestStop(): the running core call
/// throws core::Cancelled at its next check (once per layer or chunk), which cleans up what it
/// was writing and reaches main() as "error: cancelled", exit status 1. A second signal gets
/// the default action (the process ends at once). The previous handlers come back when this
/// object is destroyed. ctx must outlive it; one at a time per process.
class StopOnSignal {
public:
    explicit StopOnSignal(const core::RunContext& ctx);
    ~StopOnSignal();
    StopOnSignal(const StopOnSignal&) = delete;
    StopOnSignal& operator=(const StopOnSignal&) = delete;
};

}  // namespace qb::cli

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

}  // namespace qb::cli

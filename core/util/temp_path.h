#pragma once
// Temp names for atomic writes: a writer builds "<target>.tmp-<pid>" beside its target and
// renames it over the target when complete, so a crash never leaves a partial file under the
// final name. A writer killed outright (SIGKILL, power loss) cannot remove its temp; the next
// writer of the same target does, through atomicTempPath().

#include <cstddef>
#include <filesystem>

namespace qb::core {

/// "<target>.tmp-<this pid>", after removing what killed writers of target left: siblings
/// named "<target name>.tmp-<pid>" (files or folders) whose process no longer exists. A temp
/// of a running process (a concurrent writer) is kept. Never throws; removal is best effort.
[[nodiscard]] std::filesystem::path atomicTempPath(const std::filesystem::path& target);

/// Only the sweep of atomicTempPath(); returns how many stale temps it removed.
std::size_t removeStaleTemps(const std::filesystem::path& target);

}  // namespace qb::core

#pragma once
// Reading a whole HDF5 file, for the session probe's child (session_probe.h).
//
// SessionStore's own reader reads the session layout's groups (/modules, /plans, /runs) in
// full; other core/store files read more groups of the same file (plan costs). The probe's
// child runs the session reader and then this over the rest: every object header, attribute
// and dataset outside the groups it is told to skip, each converted to its native type
// (variable-length strings included, then reclaimed), so a file the probe passes is safe for
// any reader of it in the process.
// Not thread-safe: for the probe's child, which has one thread.

#include <filesystem>
#include <string>
#include <vector>

namespace qb::core::hdf5 {

/// Reads the root group's attributes, then visits every object reachable from the root's
/// children except those named in skipRootChildren, and reads its attributes and, for a
/// dataset, its data. libhdf5's clean errors are skipped — the readers that need an object
/// report their own — so this returns normally for any file libhdf5 survives. Throws
/// std::bad_alloc when a value does not fit in memory (its size overflows, or the allocation
/// fails).
void readEveryObject(const std::filesystem::path& file, const std::vector<std::string>& skipRootChildren);

/// From construction on, records whether libhdf5 reported a failed memory allocation
/// (H5E_CANTALLOC or H5E_NOSPACE anywhere on a failing call's error stack). libhdf5 turns a
/// refused malloc into an ordinary error, which the C++ API throws as H5::Exception; this tells
/// the probe that such an error meant "out of memory". Replaces HDF5's automatic error
/// handler of the calling thread for the rest of its life (in the probe's child: until _exit).
class AllocationWatch {
public:
    AllocationWatch();
    /// True once any libhdf5 call failed for want of memory.
    [[nodiscard]] bool allocationFailed() const;
};

}  // namespace qb::core::hdf5

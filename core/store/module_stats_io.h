#pragma once
// Internal to core/store: one ModuleStats <-> the HDF5 group /modules/<name>
// (layout in docs/session-format.md). Not thread-safe (see hdf5_io.h).

#include <H5Cpp.h>

#include <map>
#include <memory>
#include <string>

#include "core/stats/module_stats.h"

namespace qb::core {

/// Remembers which activation statistics were written where, so that modules sharing one
/// ActivationStats object (q/k/v, gate/up) share one HDF5 group through hard links. Entries
/// hold weak references: a streamed writer sees objects die and new ones take their address,
/// and an expired entry is not the same object.
struct ActivationLinks {
    struct Written {
        std::weak_ptr<const ActivationStats> object;
        std::string path;  ///< "<module name>/activation" under /modules
    };
    std::map<const ActivationStats*, Written> written;
};

/// Creates /modules/<module.name> under `modules` with its weight, activation and
/// sensitivity groups; `order` is the module's position. Throws Error for a name that is empty
/// or contains '/', or a name written twice.
void writeModuleStats(const H5::Group& modules, const ModuleStats& module, std::int64_t order, ActivationLinks& links);

/// Remembers activation groups already read (by object address), so hard-linked groups come
/// back as one shared ActivationStats.
struct ActivationCache {
    std::map<haddr_t, std::shared_ptr<const ActivationStats>> byAddress;
};

/// Reads /modules/<name>. Throws Error "<object path>: <problem>" for a missing or malformed item.
[[nodiscard]] ModuleStats readModuleStats(const H5::Group& modules, const std::string& name, ActivationCache& cache);
/// The "order" attribute of /modules/<name> (for sorting).
[[nodiscard]] std::int64_t moduleOrder(const H5::Group& modules, const std::string& name);

}  // namespace qb::core

#pragma once
// ModelStats — the per-module statistics an inspect job produced (or a session held), indexed
// by module name for the views. Immutable once built.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/stats/module_stats.h"
#include "core/store/session_data.h"

namespace qb::ui {

struct ModelStats {
    std::vector<core::ModuleStats> modules;  ///< forward order
    int calibrationWindows = 0;               ///< windows × ctx tokens the activations came from
    int calibrationCtx = 0;
    /// Where the numbers came from (model and calibration hashes); empty for a synthetic model.
    std::optional<core::SessionProvenance> provenance;

    [[nodiscard]] const core::ModuleStats* find(const std::string& name) const {
        const auto it = m_index.find(name);
        return it == m_index.end() ? nullptr : &modules[it->second];
    }
    /// Call after filling modules.
    void reindex() {
        m_index.clear();
        for (std::size_t i = 0; i < modules.size(); ++i) m_index[modules[i].name] = i;
    }

private:
    std::map<std::string, std::size_t> m_index;
};

/// RTN relative output error of a module at (bits, group); nullopt when not measured.
[[nodiscard]] inline std::optional<double> sensitivityAt(const core::ModuleStats& m, int bits, std::optional<int> group) {
    const auto* e = m.sensitivity.find(bits, group);
    return e ? e->relativeError : std::nullopt;
}

}  // namespace qb::ui

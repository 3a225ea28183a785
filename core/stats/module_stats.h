#pragma once
// ModuleStats — everything inspect learns about one linear module: weight statistics,
// statistics of its input activations, and its RTN sensitivity — plus the one-line "worst
// statistic" summary the CLI prints per module.

#include <memory>
#include <optional>
#include <string>

#include "core/stats/activation_stats.h"
#include "core/stats/sensitivity.h"
#include "core/stats/weight_stats.h"

namespace qb::core {

struct ModuleStats {
    std::string name;  ///< "model.layers.0.self_attn.q_proj"
    Index outFeatures = 0;
    Index inFeatures = 0;
    WeightStats weight;
    /// Absent when no calibration input reached the module. Shared (the same object) between
    /// modules that read the same input: q/k/v, gate/up.
    std::shared_ptr<const ActivationStats> activation;
    SensitivityTable sensitivity;               ///< empty when no calibration input reached the module
};

/// The levels at which a statistic counts as alarming (severity 1). Heuristic review levels,
/// not quality guarantees; chosen so a healthy Llama layer sits well below 1 on each.
struct WorstStatisticLevels {
    /// Activation max channel absmax / median channel absmax; same default as the relative outlier rule.
    double outlierRatio = 20.0;
    /// Weight excess kurtosis (0 for a Gaussian, 3 for a Laplacian).
    double weightKurtosis = 10.0;
    /// RTN relative output error at `referenceBits` / `referenceGroup`.
    double rtnError = 0.05;
    int referenceBits = 4;
    std::optional<int> referenceGroup = 128;
};

/// The statistic of a module with the largest severity = value / level.
struct WorstStatistic {
    std::string name;       ///< "activation outlier ratio", "weight excess kurtosis", "rtn w4 g128 error"
    double value = 0.0;
    double severity = 0.0;  ///< value / level; >= 1 means worth a look
    std::string text;       ///< "activation outlier ratio 43.1x (channel 5)"
};

/// The worst of the statistics the module has (activation ones only when present). A module
/// with no statistic at all (empty weight) gives name "none" and severity 0.
[[nodiscard]] WorstStatistic worstStatistic(const ModuleStats& module, const WorstStatisticLevels& levels = {});

/// max channel absmax / median channel absmax of a; 0 when the median is 0.
[[nodiscard]] double outlierRatio(const ActivationStats& a);

}  // namespace qb::core

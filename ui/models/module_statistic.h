#pragma once
// ModuleStatistic — the per-module statistic the user looks at: the Model tree's statistic
// column and the Overview's colours show the same one, held by the Workspace (one source of
// truth; both views follow Workspace::statisticChanged). "worst statistic" is
// core::worstStatistic's severity (each statistic over its review level, the worst one wins).

#include <optional>
#include <span>
#include <string>

#include <QString>

namespace qb::core {
struct ModuleStats;
}

namespace qb::ui {

enum class ModuleStatistic { Worst, Kurtosis, OutlierFraction, MaxAbs, OutlierRatio, Sensitivity4 };

struct ModuleStatisticInfo {
    ModuleStatistic statistic;
    const char* key;       ///< stable name for sessions ("outlier_ratio")
    const char* name;      ///< "activation outlier ratio" (translated via QObject::tr)
    const char* help;      ///< one sentence: what it measures and what is large
    bool logScale;         ///< colour it on a log scale (spans decades)
};

/// Every statistic, in the order the selectors list them.
[[nodiscard]] std::span<const ModuleStatisticInfo> moduleStatistics();
[[nodiscard]] const ModuleStatisticInfo& statisticInfo(ModuleStatistic statistic);
[[nodiscard]] QString statisticName(ModuleStatistic statistic);
/// The statistic whose key is key (sessions); empty when unknown.
[[nodiscard]] std::optional<ModuleStatistic> statisticFromKey(const std::string& key);
/// The value of statistic for module, when its statistics hold it (activation ones need Inspect).
[[nodiscard]] std::optional<double> statisticValue(const core::ModuleStats& module, ModuleStatistic statistic);
/// Every statistic explained, one bullet each, the chosen one marked — the column header's tooltip.
[[nodiscard]] QString statisticsExplained(ModuleStatistic chosen);

}  // namespace qb::ui

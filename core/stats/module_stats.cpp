#include "core/stats/module_stats.h"

#include "core/util/format.h"

namespace qb::core {
namespace {

}  // namespace

double outlierRatio(const ActivationStats& a) {
    if (a.medianAbsmax <= 0.0 || a.absmax.size() == 0) return 0.0;
    return a.absmax.maxCoeff() / a.medianAbsmax;
}

WorstStatistic worstStatistic(const ModuleStats& module, const WorstStatisticLevels& levels) {
    WorstStatistic worst{"none", 0.0, 0.0, "no statistics"};
    auto consider = [&](std::string name, double value, double level, std::string text) {
        const double severity = level > 0.0 ? value / level : 0.0;
        if (severity > worst.severity || worst.name == "none")
            worst = {std::move(name), value, severity, std::move(text)};
    };
    if (module.weight.count > 0)
        consider("weight excess kurtosis", module.weight.excessKurtosis, levels.weightKurtosis,
                 "weight excess kurtosis " + fixed(module.weight.excessKurtosis, 2));
    if (module.activation && module.activation->tokens > 0) {
        const ActivationStats& a = *module.activation;
        Index channel = 0;
        a.absmax.maxCoeff(&channel);
        const double ratio = outlierRatio(a);
        consider("activation outlier ratio", ratio, levels.outlierRatio,
                 "activation outlier ratio " + fixed(ratio, 1) + "x (channel " + std::to_string(channel) + ")");
    }
    if (const SensitivityEntry* e = module.sensitivity.find(levels.referenceBits, levels.referenceGroup);
        e && e->relativeError) {
        const std::string label = sensitivityLabel(e->bits, e->groupSize);
        consider("rtn " + label + " error", *e->relativeError, levels.rtnError,
                 "rtn " + label + " relative error " + fixed(100.0 * *e->relativeError, 2) + "%");
    }
    return worst;
}

}  // namespace qb::core

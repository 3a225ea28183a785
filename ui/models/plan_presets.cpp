#include "ui/models/plan_presets.h"

#include <algorithm>

#include "core/stats/inspect_report.h"

namespace qb::ui {

QString presetName(PlanPreset preset) {
    switch (preset) {
        case PlanPreset::W4G128Gptq: return QObject::tr("All W4 g128 GPTQ");
        case PlanPreset::W4G32Awq: return QObject::tr("All W4 g32 AWQ");
        case PlanPreset::W8A8SmoothQuant: return QObject::tr("W8A8 SmoothQuant");
        case PlanPreset::Rtn4G128: return QObject::tr("All W4 g128 RTN");
        case PlanPreset::Fp16: return QObject::tr("All FP16");
    }
    return {};
}

std::vector<PlanPreset> allPresets() {
    return {PlanPreset::W4G128Gptq, PlanPreset::W4G32Awq, PlanPreset::W8A8SmoothQuant, PlanPreset::Rtn4G128, PlanPreset::Fp16};
}

core::QuantScheme presetScheme(PlanPreset preset) {
    core::QuantScheme s;
    switch (preset) {
        case PlanPreset::W4G128Gptq:
            s.method = core::QuantMethod::Gptq;
            s.grid = {4, 128, false};
            break;
        case PlanPreset::W4G32Awq:
            s.method = core::QuantMethod::Awq;
            s.grid = {4, 32, false};
            break;
        case PlanPreset::W8A8SmoothQuant:
            s.method = core::QuantMethod::SmoothQuant;
            s.grid = {8, std::nullopt, true};
            break;
        case PlanPreset::Rtn4G128:
            s.method = core::QuantMethod::Rtn;
            s.grid = {4, 128, false};
            break;
        case PlanPreset::Fp16: s.method = core::QuantMethod::Fp16; break;
    }
    return s;
}

std::vector<std::string> mostSensitiveModules(const ModelStats& stats, int n) {
    core::InspectReportOptions options;
    options.rankBits = 4;
    options.rankGroup = 128;
    const auto order = core::rankBySensitivity(stats.modules, options);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < order.size() && int(names.size()) < n; ++i) names.push_back(stats.modules[order[i]].name);
    return names;
}

std::vector<core::QuantScheme> protectModules(const std::vector<PlanRow>& rows, const std::vector<std::string>& protect) {
    std::vector<core::QuantScheme> schemes;
    schemes.reserve(rows.size());
    for (const auto& row : rows) {
        core::QuantScheme s = row.scheme;
        const bool chosen = std::find(protect.begin(), protect.end(), row.name) != protect.end();
        if (chosen && s.method != core::QuantMethod::Fp16) {  // FP16 already keeps more than 8 bits
            if (!isGridMethod(s.method)) {
                s.method = core::QuantMethod::Rtn;
                s.grid.sym = false;
            }
            s.grid.bits = 8;
        }
        schemes.push_back(s);
    }
    return schemes;
}

}  // namespace qb::ui

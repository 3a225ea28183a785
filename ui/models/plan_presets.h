#pragma once
// Plan presets: whole-table schemes a user starts from, and "protect sensitive layers" (the N
// modules with the largest RTN w4 g128 error — core::rankBySensitivity — kept at 8 bits).

#include <string>
#include <vector>

#include <QString>

#include "core/quant/quant_scheme.h"
#include "ui/models/model_stats.h"
#include "ui/models/plan_document.h"

namespace qb::ui {

enum class PlanPreset { W4G128Gptq, W4G32Awq, W8A8SmoothQuant, Rtn4G128, Fp16 };

[[nodiscard]] QString presetName(PlanPreset preset);
[[nodiscard]] core::QuantScheme presetScheme(PlanPreset preset);
[[nodiscard]] std::vector<PlanPreset> allPresets();

/// The names of the n most sensitive modules of stats (largest RTN w4 g128 error first).
[[nodiscard]] std::vector<std::string> mostSensitiveModules(const ModelStats& stats, int n);

/// schemes with the modules named in protect raised to 8 bits: grid methods keep their method
/// and group size at bits = 8; FP16 modules stay FP16; other methods become RTN w8 with the same group size.
[[nodiscard]] std::vector<core::QuantScheme> protectModules(const std::vector<PlanRow>& rows,
                                                            const std::vector<std::string>& protect);

}  // namespace qb::ui

#pragma once
// AutoPlanFrontier — what the plan autopilot predicts over a sweep of size budgets, next to the
// uniform plans, from ONE measured cost table (core/plan): the data the Pareto plot draws as
// predictions beside the measured runs. Immutable once built; shared as
// std::shared_ptr<const AutoPlanFrontier> between the job thread and the GUI thread.

#include <cstdint>
#include <vector>

#include "core/plan/autoplan.h"

namespace qb::ui {

/// One solution of the budget sweep: the autopilot's plan for one budget.
struct AutoPlanSweepPoint {
    double targetBitsPerWeight = 0.0;  ///< the budget, 8·bytes / weights
    double bitsPerWeight = 0.0;        ///< of the plan found (≤ target)
    std::uint64_t bytes = 0;
    double predictedCost = 0.0;        ///< Σ measured single-module ΔKLD (nats): a prediction, not a run
};

struct AutoPlanFrontier {
    std::vector<AutoPlanSweepPoint> autopilot;   ///< by bits per weight, one per distinct plan
    std::vector<core::UniformPlanCost> uniform;  ///< every candidate given to every module (predicted the same way)
    int windows = 0;                             ///< calibration windows × ctx the costs were measured on
    int ctx = 0;
};

}  // namespace qb::ui

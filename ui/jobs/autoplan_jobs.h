#pragma once
// The plan autopilot's job (issue 16): core/plan's cost measurement and knapsack solver run on a
// job thread for the workbench's "Optimize to … bpw / … MB". The same core calls as
// `quantbench-cli plan --auto` (measurePlanCosts, solveAutoPlan, uniformPlanCosts); nothing of
// the autopilot is reimplemented here.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/plan/autoplan.h"
#include "core/plan/module_costs.h"
#include "ui/jobs/core_jobs.h"
#include "ui/models/autoplan_frontier.h"

namespace qb::ui {

/// What the user asked for: a target, the candidates, and the calibration windows the costs are
/// measured on (the text and the seed are the workbench's calibration settings).
struct AutoPlanRequest {
    core::AutoPlanTarget target;
    core::CandidateSpace space;  ///< defaults: gptq, awq, rtn × 2, 3, 4, 8 bits × g32, g128, + fp16 (the CLI's)
    int windows = 8;             ///< as `plan --auto`: few short windows, costs are differences of KLD
    int ctx = 128;
};

/// Result of autoPlanWork.
struct AutoPlanOutcome {
    core::AutoPlanResult result;                     ///< the plan for the requested target
    std::shared_ptr<const AutoPlanFrontier> frontier;
    std::optional<double> proxySpearman;             ///< ρ(proxy, measured) over every (module, candidate)
    std::size_t candidatesPerModule = 0;
    std::size_t forwards = 0;
    std::size_t reusedModules = 0;   ///< modules whose costs came from an earlier sweep (not measured again)
    core::PlanCostSweep sweep;       ///< every module's costs under their fingerprint, for the workspace to keep
    int windows = 0;
    int ctx = 0;
    double secondsCosts = 0.0;
};

/// The budgets (bytes, ascending, distinct) of the frontier sweep: from the smallest plan of the
/// candidates to the largest in steps of 0.25 bits per weight, plus every uniform plan's exact
/// bytes (so the frontier has a point at each uniform plan's size).
[[nodiscard]] std::vector<std::uint64_t> frontierBudgets(const core::PlanCostTable& costs);

/// Solves the table for every budget of frontierBudgets (the costs are measured once; each solve
/// is a small DP). Budgets below the smallest plan are skipped; plans found twice are kept once.
[[nodiscard]] AutoPlanFrontier autoPlanFrontier(const core::PlanCostTable& costs);

/// Result: AutoPlanOutcome. Samples request.windows × request.ctx calibration windows of
/// calibration.textFile (seed calibration.seed), measures every candidate's cost for every linear
/// module (core::measurePlanCosts: progress per module, cancellable per candidate), solves for the
/// target and for the frontier sweep. A module recorded in known under the same fingerprint
/// (core::planCostFingerprint: the same model, calibration windows and candidates) is not
/// measured again. Throws core::Error with core's words (an invalid candidate space, a target
/// below the smallest plan).
[[nodiscard]] JobWork autoPlanWork(std::shared_ptr<const LoadedModel> model, CalibrationSettings calibration, AutoPlanRequest request,
                                   std::vector<core::PlanCostSweep> known = {});

}  // namespace qb::ui

#pragma once
// One module's measured plan costs (plan_costs.h has the definitions and how they are
// measured), and a sweep of them under the fingerprint of what they depend on: the form the
// session keeps them in (core/store/plan_cost_store.h, SessionData::planCosts), so a later
// solve, a resumed sweep or the workbench's next Optimize reuses them.

#include <string>
#include <vector>

#include "core/plan/plan_candidates.h"

namespace qb::core {

struct ModuleCosts {
    std::string name;   ///< "model.layers.0.self_attn.q_proj"
    Index outFeatures = 0;
    Index inFeatures = 0;
    std::vector<PlanCandidate> candidates;
    std::vector<double> measured;  ///< [candidates] cost(m, c), nats; empty when not measured
    std::vector<double> proxy;     ///< [candidates] proxy(m, c), nats
    double probeKld = 0.0;         ///< cost(m, probe)
    double probeRtnError = 0.0;    ///< e(probe)
};

/// The costs of one sweep: every module measured on one model, one calibration set and one
/// candidate space (planCostFingerprint names them), in forward order.
struct PlanCostSweep {
    std::string fingerprint;
    std::vector<ModuleCosts> modules;
};

}  // namespace qb::core

#pragma once
// The plan autopilot's choice: from a cost table (plan_costs.h), the plan with the least total
// predicted cost Σ_m cost(m, c_m) whose size Σ_m bytes(m, c_m) fits a target — a multiple-choice
// knapsack (knapsack.h) whose sizes come from core's one size formula, so the plan's bytes are
// those of the checkpoint `quantize --plan` writes for these modules.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/plan/knapsack.h"
#include "core/plan/plan_costs.h"
#include "core/quant/plan.h"

namespace qb::core {

/// Exactly one of the three: a size budget in bits per weight over the linear modules
/// (8·bytes / weights) or in bytes; or a cost bound, the predicted KLD increase Σ cost (nats),
/// for which the smallest plan within it is chosen (knapsack.h, MinBytes).
struct AutoPlanTarget {
    std::optional<double> bitsPerWeight;
    std::optional<std::uint64_t> bytes;
    std::optional<double> kld;
    [[nodiscard]] static AutoPlanTarget ofBitsPerWeight(double bpw) { return {bpw, std::nullopt, std::nullopt}; }
    [[nodiscard]] static AutoPlanTarget ofBytes(std::uint64_t bytes) { return {std::nullopt, bytes, std::nullopt}; }
    [[nodiscard]] static AutoPlanTarget ofKld(double nats) { return {std::nullopt, std::nullopt, nats}; }
};

enum class PlanCostSource {
    Measured,  ///< the measured KLD costs
    Proxy,     ///< the proxy costs
};

struct AutoPlanModule {
    std::string name;
    Index outFeatures = 0;
    Index inFeatures = 0;
    QuantScheme scheme;         ///< the chosen candidate
    std::uint64_t bytes = 0;    ///< schemeBytes of it
    double predictedCost = 0.0; ///< its cost (nats) under the source used
};

struct AutoPlanResult {
    std::vector<AutoPlanModule> modules;  ///< forward order
    QuantPlan plan;                       ///< the most common scheme as default, one exact rule per other module
    std::uint64_t budgetBytes = 0;        ///< the target in bytes (a KLD target: the size found)
    std::uint64_t bytes = 0;              ///< Σ bytes (≤ budgetBytes)
    std::uint64_t weights = 0;            ///< Σ out·in
    double bitsPerWeight = 0.0;           ///< 8·bytes / weights
    double predictedCost = 0.0;           ///< Σ predicted costs (additive model), nats
    KnapsackSolution solver;              ///< lower bound, gap, resolution, exactness
    PlanCostSource source = PlanCostSource::Measured;
    double secondsSolve = 0.0;
};

/// The budget in bytes of a size target for modules of `weights` weights: ⌊bpw·weights/8⌋ or
/// the bytes. Throws Error unless exactly one size target is set and no KLD bound, or when a
/// value is not positive.
[[nodiscard]] std::uint64_t autoPlanBudget(const AutoPlanTarget& target, std::uint64_t weights);

/// Solves for target. Throws Error when no plan of the candidates fits: "the target 1.50 bits
/// per weight (12345 bytes) is below the smallest plan of the candidates, 2.41 bits per weight";
/// for a KLD bound below the least predicted cost of any plan: "the target KLD 1.0e-04 nats is
/// below the least predicted KLD of the candidates, 3.2e-03 nats"; when not exactly one target is set.
/// Measured needs a measured table (else Error).
[[nodiscard]] AutoPlanResult solveAutoPlan(const PlanCostTable& costs, const AutoPlanTarget& target,
                                           PlanCostSource source = PlanCostSource::Measured);

/// A plan file for per-module schemes: the most common scheme is the default (the first to
/// reach the count wins a tie), every other module one rule naming it exactly with the keys
/// that differ. names and schemes have equal sizes.
[[nodiscard]] QuantPlan planFromModuleSchemes(const std::vector<std::string>& names, const std::vector<QuantScheme>& schemes);

/// Σ bytes and Σ predicted cost of giving every module the same candidate (index i of every
/// module's list — the lists are built from one space, so index i is the same scheme).
struct UniformPlanCost {
    QuantScheme scheme;
    std::uint64_t bytes = 0;
    double bitsPerWeight = 0.0;
    double predictedCost = 0.0;
};
[[nodiscard]] std::vector<UniformPlanCost> uniformPlanCosts(const PlanCostTable& costs, PlanCostSource source = PlanCostSource::Measured);

}  // namespace qb::core

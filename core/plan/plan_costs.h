#pragma once
// The costs the plan autopilot optimises: for every linear module m and every candidate scheme
// c (plan_candidates.h), the KL divergence of the model with ONLY m quantized by c from the FP
// model, on a few calibration windows:
//
//   cost(m, c) = (1/N) Σ_t KL(P_t ‖ Q_t^{m,c})   nats   (core/eval KldAccumulator: kld_mean)
//
// where P is the FP model and Q^{m,c} the FP model with W_m replaced by its quantized-dequantized
// weight Ŵ_{m,c}. The FP model's own KLD is 0, so this is the increase of KLD. Summing the costs
// of a plan's modules assumes their effects add up (no interactions); a real sequential run
// (quantize --plan) tells how far that holds.
//
// How Ŵ_{m,c} is made, on the module's FP calibration input X [n, in] (other modules FP):
//   rtn   quantizeRtn(W).
//   gptq  quantizeGptq(W, H) with H = 2/n·XᵀX: ONE H per module input (q/k/v share one, gate/up
//         another), computed once and reused for every bit width and group size.
//   awq   s from searchAwqScales(X, {W}) for this module alone (the pipeline searches a group's
//         modules jointly), clip search on X·diag(s)⁻¹ (not for q/k, as llm-awq), then
//         Ŵ = Q(W·diag(s))·diag(s)⁻¹ — the folded form the pipeline writes, unfolded.
//   fp16  W rounded to F16.
//
// The proxy (no forward pass per candidate): the relative RTN output error of the candidate's
// grid, e(c) = ‖(W − RTN_c(W)) Xᵀ‖² / ‖W Xᵀ‖² (core/stats relativeOutputError through G = XᵀX),
// weighted by the module's measured sensitivity: one probe forward per module,
//   proxy(m, c) = cost(m, probe) · e(c) / e(probe),   probe = RTN at the lowest bits and the
//   largest group of the space. A gptq/awq candidate gets its grid's RTN error (that is what
//   makes it cheap). Spearman's ρ between proxy and measured cost over all (m, c) says how well
//   the proxy ranks.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/calib/calibration.h"
#include "core/model/llama_model.h"
#include "core/plan/module_costs.h"
#include "core/plan/plan_candidates.h"
#include "core/util/run_context.h"

namespace qb::core {

struct PlanCostOptions {
    CandidateSpace space;
    /// Measure every candidate by a forward pass. Off: proxy costs only (one forward per module).
    bool measure = true;
    /// A resumed sweep: asked before each module is measured, with the module's name, shape and
    /// candidates filled in (no costs). A ModuleCosts returned for the same candidates (and with
    /// measured costs when `measure`) is taken as is and the module is not measured again
    /// (PlanCostTable::reusedModules); nullopt or a mismatch: measured. Unset: every module measured.
    std::function<std::optional<ModuleCosts>(const ModuleCosts& pending)> reuse;
    /// Called on the calling thread with every freshly measured module, in forward order, once
    /// its layer's costs are measured (to record it, e.g. core/store/plan_cost_store.h). An
    /// exception from it stops the sweep.
    std::function<void(const ModuleCosts&)> finished;
};

struct PlanCostTable {
    std::vector<ModuleCosts> modules;  ///< forward order
    int windows = 0;
    int ctx = 0;
    std::int64_t positions = 0;        ///< scored positions per KLD
    std::size_t forwards = 0;          ///< partial forward passes run (one per measured cost)
    std::size_t measuredModules = 0;   ///< modules measured by this call
    std::size_t reusedModules = 0;     ///< modules taken from PlanCostOptions::reuse
    /// ρ(proxy, measured) over every (module, candidate); empty when not measured.
    std::optional<double> proxySpearman;
    double secondsTotal = 0.0;
    /// The next two add up the cost tasks' own times, which run on several threads at once: with
    /// t threads they can exceed secondsTotal up to t times.
    double secondsForward = 0.0;   ///< the partial forwards and KLD scoring
    double secondsQuantize = 0.0;  ///< making Ŵ (GPTQ sweeps, AWQ searches, RTN) and the proxy errors
    double secondsCapture = 0.0;   ///< FP hidden states, baseline logits, module inputs and Hessians
    [[nodiscard]] bool measured() const { return !modules.empty() && !modules.front().measured.empty(); }
};

/// Measures the table above for every linear module of model on calibration. The (module,
/// candidate) costs of one layer are independent tasks run in parallel on the OpenMP threads
/// (threadCount()); each cost's value does not depend on the thread count. Progress per module;
/// cancel polled per task (throws Cancelled). Memory: the FP hidden state at every
/// layer input ([layers+1, n, hidden] floats), the baseline logits of the scored positions, and
/// one layer's module inputs. Throws Error on an invalid space or an empty calibration set.
[[nodiscard]] PlanCostTable measurePlanCosts(const LlamaModel& model, const CalibrationSet& calibration,
                                             const PlanCostOptions& options, const RunContext& ctx = {});

/// The KLD of a whole model (e.g. a plan's quantized model) from the FP model on the same
/// positions the costs are measured on: (1/N) Σ_t KL(P_t ‖ Q_t) over the ctx − 1 predicting
/// positions of every calibration window, nats. What the additive model predicts as Σ_m cost(m,
/// c_m); their difference is the modules' interaction. Throws Error on an empty calibration set.
[[nodiscard]] double measureModelKld(const LlamaModel& model, const LlamaModel& fp, const CalibrationSet& calibration);

}  // namespace qb::core

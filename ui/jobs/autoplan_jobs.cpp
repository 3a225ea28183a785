#include "ui/jobs/autoplan_jobs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/calib/calibration.h"
#include "core/plan/plan_costs.h"
#include "core/store/plan_cost_store.h"
#include "core/store/session_provenance.h"
#include "ui/jobs/text_source.h"

namespace qb::ui {

namespace {

constexpr double kSweepStepBitsPerWeight = 0.25;

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::uint64_t linearWeights(const core::PlanCostTable& costs) {
    std::uint64_t w = 0;
    for (const auto& m : costs.modules) w += std::uint64_t(m.outFeatures) * std::uint64_t(m.inFeatures);
    return w;
}

}  // namespace

std::vector<std::uint64_t> frontierBudgets(const core::PlanCostTable& costs) {
    const std::uint64_t weights = linearWeights(costs);
    if (weights == 0) return {};
    std::uint64_t smallest = 0, largest = 0;
    for (const auto& m : costs.modules) {
        std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0;
        for (const auto& c : m.candidates) lo = std::min(lo, c.bytes), hi = std::max(hi, c.bytes);
        smallest += lo, largest += hi;
    }
    const double first = 8.0 * double(smallest) / double(weights), last = 8.0 * double(largest) / double(weights);
    std::vector<std::uint64_t> budgets;
    for (double b = std::ceil(first / kSweepStepBitsPerWeight) * kSweepStepBitsPerWeight; b < last; b += kSweepStepBitsPerWeight)
        budgets.push_back(std::uint64_t(std::floor(b * double(weights) / 8.0)));
    budgets.push_back(largest);
    for (const auto& u : core::uniformPlanCosts(costs)) budgets.push_back(u.bytes);  // exact: each uniform plan is feasible
    std::sort(budgets.begin(), budgets.end());
    budgets.erase(std::unique(budgets.begin(), budgets.end()), budgets.end());
    return budgets;
}

AutoPlanFrontier autoPlanFrontier(const core::PlanCostTable& costs) {
    AutoPlanFrontier f;
    f.windows = costs.windows;
    f.ctx = costs.ctx;
    f.uniform = core::uniformPlanCosts(costs);
    const std::uint64_t weights = linearWeights(costs);
    for (const std::uint64_t budget : frontierBudgets(costs)) {
        core::AutoPlanResult r;
        try {
            r = core::solveAutoPlan(costs, core::AutoPlanTarget::ofBytes(budget));
        } catch (const core::Error&) {
            continue;  // below the smallest plan of the candidates
        }
        if (!f.autopilot.empty() && f.autopilot.back().bytes == r.bytes) continue;
        f.autopilot.push_back({8.0 * double(budget) / double(weights), r.bitsPerWeight, r.bytes, r.predictedCost});
    }
    return f;
}

JobWork autoPlanWork(std::shared_ptr<const LoadedModel> model, CalibrationSettings calibration, AutoPlanRequest request,
                     std::vector<core::PlanCostSweep> known) {
    return makeJobWork([model = std::move(model), calibration = std::move(calibration), request = std::move(request),
                        known = std::move(known)](const core::RunContext& ctx) {
        core::checkCandidateSpace(request.space);  // before any work: a bad selection fails at once
        ctx.progress(0.0, "sampling calibration windows");
        const auto calib = core::withErrorContext(calibration.textFile.string(), [&] {
            const TextSource text = readTextSource(calibration.textFile);
            ctx.log("calibration text " + text.name + ", sha256 " + text.sha256 + ", " + std::to_string(request.windows) + " windows × " +
                    std::to_string(request.ctx) + " tokens, seed " + std::to_string(calibration.seed));
            auto set = core::sampleCalibration(core::encodeDocuments(*model->tokenizer, text.text), {request.windows, request.ctx, calibration.seed});
            if (set.shortened) ctx.log(set.note);
            return set;
        });
        core::PlanCostOptions options;
        options.space = request.space;
        // What the costs depend on; a synthetic model (no checkpoint) is named by the calibration and
        // the candidates only, which is enough: the workspace drops its sweeps when the model changes.
        const std::string fingerprint = core::planCostFingerprint(
            model->checkpoint ? core::makeSessionProvenance(*model->checkpoint) : core::SessionProvenance{}, calib, options);
        for (const auto& sweep : known)
            if (sweep.fingerprint == fingerprint) core::reusePlanCosts(sweep.modules, options);
        const core::PlanCostTable costs = core::measurePlanCosts(*model->model, calib, options, ctx.sub(0.0, 0.97));
        ctx.progress(0.97, "solving");
        AutoPlanOutcome out;
        out.result = core::solveAutoPlan(costs, request.target);
        out.frontier = std::make_shared<const AutoPlanFrontier>(autoPlanFrontier(costs));
        out.proxySpearman = costs.proxySpearman;
        out.candidatesPerModule = costs.modules.empty() ? 0 : costs.modules.front().candidates.size();
        out.forwards = costs.forwards;
        out.reusedModules = costs.reusedModules;
        out.sweep = {fingerprint, costs.modules};
        out.windows = costs.windows;
        out.ctx = costs.ctx;
        out.secondsCosts = costs.secondsTotal;
        ctx.log("costs: " + std::to_string(out.forwards) + " forwards over " + std::to_string(costs.measuredModules) + " modules × " +
                std::to_string(out.candidatesPerModule) + " candidates in " + fixed(costs.secondsTotal, 1) + " s, " +
                std::to_string(costs.reusedModules) + " modules' costs reused from an earlier sweep; " +
                std::to_string(out.frontier->autopilot.size()) + " budgets solved for the frontier");
        ctx.progress(1.0, "done");
        return out;
    });
}

}  // namespace qb::ui

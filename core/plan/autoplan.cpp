#include "core/plan/autoplan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "core/util/error.h"

namespace qb::core {

namespace {

const std::vector<double>& costsOf(const ModuleCosts& m, PlanCostSource source) {
    if (source == PlanCostSource::Measured) {
        if (m.measured.size() != m.candidates.size()) throw Error("autoplan: the costs were not measured (proxy-only table)");
        return m.measured;
    }
    return m.proxy;
}

std::string bpwText(double bpw) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", bpw);
    return buf;
}

std::string sciText(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2e", v);
    return buf;
}

}  // namespace

std::uint64_t autoPlanBudget(const AutoPlanTarget& target, std::uint64_t weights) {
    if (bool(target.bitsPerWeight) == bool(target.bytes) || target.kld)
        throw Error("autoplan: give a target in bits per weight or in bytes (one of them)");
    if (target.bytes) {
        if (*target.bytes == 0) throw Error("autoplan: the target size must be positive");
        return *target.bytes;
    }
    if (!(*target.bitsPerWeight > 0.0) || !std::isfinite(*target.bitsPerWeight))
        throw Error("autoplan: the target bits per weight must be positive");
    return std::uint64_t(std::floor(*target.bitsPerWeight * double(weights) / 8.0));
}

AutoPlanResult solveAutoPlan(const PlanCostTable& costs, const AutoPlanTarget& target, PlanCostSource source) {
    const auto start = std::chrono::steady_clock::now();
    AutoPlanResult r;
    r.source = source;
    std::vector<std::vector<KnapsackItem>> groups;
    std::uint64_t smallest = 0;
    for (const auto& m : costs.modules) {
        r.weights += std::uint64_t(m.outFeatures) * std::uint64_t(m.inFeatures);
        const auto& cost = costsOf(m, source);
        std::vector<KnapsackItem> items;
        std::uint64_t minBytes = UINT64_MAX;
        for (std::size_t i = 0; i < m.candidates.size(); ++i) {
            items.push_back({cost[i], m.candidates[i].bytes});
            minBytes = std::min(minBytes, m.candidates[i].bytes);
        }
        smallest += minBytes;
        groups.push_back(std::move(items));
    }
    if (target.kld) {
        if (target.bitsPerWeight || target.bytes) throw Error("autoplan: give one target: a size (bits per weight or bytes) or a KLD bound");
        if (!(*target.kld >= 0.0) || !std::isfinite(*target.kld)) throw Error("autoplan: the target KLD must be a finite number ≥ 0");
        r.solver = solveMultipleChoiceKnapsackMinBytes(groups, *target.kld);
        if (!r.solver.feasible) {
            double least = 0.0;
            for (const auto& g : groups)
                least += std::min_element(g.begin(), g.end(), [](auto& a, auto& b) { return a.cost < b.cost; })->cost;
            throw Error("autoplan: the target KLD " + sciText(*target.kld) + " nats is below the least predicted KLD of the candidates, " +
                        sciText(least) + " nats");
        }
        r.budgetBytes = r.solver.bytes;
    } else {
        r.budgetBytes = autoPlanBudget(target, r.weights);
        r.solver = solveMultipleChoiceKnapsack(groups, r.budgetBytes);
    }
    if (!r.solver.feasible)
        throw Error("autoplan: the target " + bpwText(8.0 * double(r.budgetBytes) / double(r.weights)) + " bits per weight (" +
                    std::to_string(r.budgetBytes) + " bytes) is below the smallest plan of the candidates, " +
                    bpwText(8.0 * double(smallest) / double(r.weights)) + " bits per weight (" + std::to_string(smallest) + " bytes)");
    std::vector<std::string> names;
    std::vector<QuantScheme> schemes;
    for (std::size_t g = 0; g < costs.modules.size(); ++g) {
        const auto& m = costs.modules[g];
        const auto x = std::size_t(r.solver.choice[g]);
        r.modules.push_back({m.name, m.outFeatures, m.inFeatures, m.candidates[x].scheme, m.candidates[x].bytes, costsOf(m, source)[x]});
        names.push_back(m.name);
        schemes.push_back(m.candidates[x].scheme);
    }
    r.bytes = r.solver.bytes;
    r.predictedCost = r.solver.cost;
    r.bitsPerWeight = r.weights ? 8.0 * double(r.bytes) / double(r.weights) : 0.0;
    r.plan = planFromModuleSchemes(names, schemes);
    r.secondsSolve = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

QuantPlan planFromModuleSchemes(const std::vector<std::string>& names, const std::vector<QuantScheme>& schemes) {
    if (names.size() != schemes.size()) throw Error("plan: " + std::to_string(names.size()) + " names for " + std::to_string(schemes.size()) + " schemes");
    QuantPlan plan;
    if (schemes.empty()) return plan;
    std::map<std::string, int> count;
    std::string commonKey;
    int commonCount = 0;
    for (const auto& s : schemes) {
        const std::string key = schemeToJson(s);
        if (++count[key] > commonCount) commonCount = count[key], commonKey = key, plan.defaultScheme = s;
    }
    const auto defaults = nlohmann::json::parse(commonKey);
    for (std::size_t i = 0; i < names.size(); ++i) {
        nlohmann::ordered_json diff = nlohmann::ordered_json::object();
        const auto mine = nlohmann::json::parse(schemeToJson(schemes[i]));  // named: items() must not outlive it
        for (const auto& [k, v] : mine.items())
            if (defaults.at(k) != v) diff[k] = v;
        if (!diff.empty()) plan.rules.push_back({names[i], diff.dump()});
    }
    return plan;
}

std::vector<UniformPlanCost> uniformPlanCosts(const PlanCostTable& costs, PlanCostSource source) {
    std::vector<UniformPlanCost> out;
    if (costs.modules.empty()) return out;
    std::uint64_t weights = 0;
    for (const auto& m : costs.modules) weights += std::uint64_t(m.outFeatures) * std::uint64_t(m.inFeatures);
    for (std::size_t i = 0; i < costs.modules.front().candidates.size(); ++i) {
        UniformPlanCost u;
        u.scheme = costs.modules.front().candidates[i].scheme;
        for (const auto& m : costs.modules) {
            u.bytes += m.candidates.at(i).bytes;
            u.predictedCost += costsOf(m, source).at(i);
        }
        u.bitsPerWeight = 8.0 * double(u.bytes) / double(weights);
        out.push_back(u);
    }
    return out;
}

}  // namespace qb::core

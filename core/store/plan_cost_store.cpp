#include "core/store/plan_cost_store.h"

#include <algorithm>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/quant/plan.h"
#include "core/store/hdf5_io.h"
#include "core/store/session_store.h"
#include "core/util/sha256.h"

namespace qb::core {

using namespace hdf5;

namespace {

constexpr const char* kGroup = "plan_costs";

H5::Group child(const H5::Group& parent, const std::string& name) {
    return parent.nameExists(name) ? openGroup(parent, name) : parent.createGroup(name);
}

ModuleCosts readModule(const H5::Group& g, const std::string& name) {
    ModuleCosts m;
    m.name = name;
    m.outFeatures = Index(readAttribute<std::int64_t>(g, "out_features"));
    m.inFeatures = Index(readAttribute<std::int64_t>(g, "in_features"));
    m.probeKld = readAttribute<double>(g, "probe_kld");
    m.probeRtnError = readAttribute<double>(g, "probe_rtn_error");
    const auto schemes = readStrings(g, "candidates");
    const auto bytes = readVector<std::uint64_t>(g, "bytes", hsize_t(schemes.size()));
    for (std::size_t i = 0; i < schemes.size(); ++i) {
        const QuantPlan plan = QuantPlan::fromJsonText("{\"default\": " + schemes[i] + "}", pathOf(g));
        m.candidates.push_back({plan.defaultScheme, bytes[i]});
    }
    m.proxy = readVector<double>(g, "proxy", hsize_t(schemes.size()));
    if (g.nameExists("measured")) m.measured = readVector<double>(g, "measured", hsize_t(schemes.size()));
    return m;
}

/// A sweep's modules in their recorded order.
std::vector<ModuleCosts> readSweep(const H5::Group& sweep) {
    std::vector<std::pair<std::int64_t, ModuleCosts>> ordered;
    for (const std::string& name : childNames(sweep)) {
        const H5::Group g = openGroup(sweep, name);
        ordered.emplace_back(readAttribute<std::int64_t>(g, "order"), readModule(g, name));
    }
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<ModuleCosts> out;
    for (auto& [order, m] : ordered) out.push_back(std::move(m));
    return out;
}

void writeModule(const H5::Group& sweep, const ModuleCosts& m, std::int64_t order) {
    if (sweep.nameExists(m.name)) sweep.unlink(m.name);
    const H5::Group g = sweep.createGroup(m.name);
    writeAttribute(g, "order", order);
    writeAttribute(g, "out_features", std::int64_t(m.outFeatures));
    writeAttribute(g, "in_features", std::int64_t(m.inFeatures));
    writeAttribute(g, "probe_kld", m.probeKld);
    writeAttribute(g, "probe_rtn_error", m.probeRtnError);
    std::vector<std::string> schemes;
    std::vector<std::uint64_t> bytes;
    for (const auto& c : m.candidates) {
        schemes.push_back(schemeToJson(c.scheme));
        bytes.push_back(c.bytes);
    }
    writeStrings(g, "candidates", schemes);
    writeVector(g, "bytes", bytes);
    writeVector(g, "proxy", m.proxy);
    if (!m.measured.empty()) writeVector(g, "measured", m.measured);
}

}  // namespace

std::string planCostFingerprint(const SessionProvenance& model, const CalibrationSet& calibration, const PlanCostOptions& options) {
    nlohmann::ordered_json j;
    j["config_sha256"] = model.configSha256;
    for (const auto& h : model.safetensorsHeaders) j["safetensors"].push_back({h.file, h.sha256});
    j["windows"] = calibration.windows;
    j["ctx"] = calibration.ctx;
    j["tokens_sha256"] = sha256Hex(std::string_view(reinterpret_cast<const char*>(calibration.tokens.data()),
                                                    calibration.tokens.size() * sizeof(calibration.tokens[0])));
    for (QuantMethod m : options.space.methods) j["methods"].push_back(methodName(m));
    j["bits"] = options.space.bits;
    for (const auto& g : options.space.groupSizes) j["groups"].push_back(g ? *g : -1);
    j["fp16"] = options.space.includeFp16;
    j["sym"] = options.space.sym;
    j["measure"] = options.measure;
    return sha256Hex(j.dump());
}

std::vector<ModuleCosts> readPlanCosts(const std::filesystem::path& path, const std::string& fingerprint) {
    std::vector<ModuleCosts> out;
    if (!std::filesystem::exists(path)) return out;
    SessionStore::readRoot(path, [&](const H5::Group& root) {
        if (!root.nameExists(kGroup)) return;
        const H5::Group costs = openGroup(root, kGroup);
        if (costs.nameExists(fingerprint)) out = readSweep(openGroup(costs, fingerprint));
    });
    return out;
}

void writePlanCostModule(const std::filesystem::path& path, const std::string& fingerprint, const ModuleCosts& m, std::int64_t order,
                         const SessionProvenance& provenanceIfNew) {
    SessionStore::editRoot(path, provenanceIfNew,
                           [&](const H5::Group& root) { writeModule(child(child(root, kGroup), fingerprint), m, order); });
}

void reusePlanCosts(std::vector<ModuleCosts> known, PlanCostOptions& options) {
    auto byName = std::make_shared<std::map<std::string, ModuleCosts>>();
    for (auto& m : known) byName->insert_or_assign(m.name, std::move(m));
    options.reuse = [byName](const ModuleCosts& pending) -> std::optional<ModuleCosts> {
        const auto it = byName->find(pending.name);
        return it == byName->end() ? std::nullopt : std::optional(it->second);
    };
}

void attachPlanCostSession(const std::filesystem::path& path, const std::string& fingerprint, const std::vector<std::string>& moduleOrder,
                           const SessionProvenance& provenanceIfNew, PlanCostOptions& options) {
    reusePlanCosts(readPlanCosts(path, fingerprint), options);
    auto order = std::make_shared<std::map<std::string, std::int64_t>>();
    for (const auto& name : moduleOrder) order->emplace(name, std::int64_t(order->size()));
    options.finished = [path, fingerprint, order, provenanceIfNew](const ModuleCosts& m) {
        const auto it = order->find(m.name);
        if (it == order->end()) throw Error("plan costs: module '" + m.name + "' is not one of the model's linear modules");
        writePlanCostModule(path, fingerprint, m, it->second, provenanceIfNew);
    };
}

std::vector<PlanCostSweep> readPlanCostSweeps(const H5::Group& root) {
    std::vector<PlanCostSweep> out;
    if (!root.nameExists(kGroup)) return out;
    const H5::Group costs = openGroup(root, kGroup);
    for (const std::string& fingerprint : childNames(costs)) out.push_back({fingerprint, readSweep(openGroup(costs, fingerprint))});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.fingerprint < b.fingerprint; });
    return out;
}

void writePlanCostSweeps(const H5::Group& root, const std::vector<PlanCostSweep>& sweeps) {
    if (sweeps.empty()) return;
    const H5::Group costs = root.createGroup(kGroup);
    for (const PlanCostSweep& sweep : sweeps) {
        if (sweep.fingerprint.empty() || sweep.fingerprint.find('/') != std::string::npos || costs.nameExists(sweep.fingerprint))
            throw Error("plan costs: fingerprint '" + sweep.fingerprint + "' is empty, holds '/' or appears twice");
        const H5::Group g = costs.createGroup(sweep.fingerprint);
        for (std::size_t i = 0; i < sweep.modules.size(); ++i) writeModule(g, sweep.modules[i], std::int64_t(i));
    }
}

}  // namespace qb::core

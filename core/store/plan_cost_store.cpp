#include "core/store/plan_cost_store.h"

#include <algorithm>

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
        if (!costs.nameExists(fingerprint)) return;
        const H5::Group sweep = openGroup(costs, fingerprint);
        std::vector<std::pair<std::int64_t, ModuleCosts>> ordered;
        for (const std::string& name : childNames(sweep)) {
            const H5::Group g = openGroup(sweep, name);
            ordered.emplace_back(readAttribute<std::int64_t>(g, "order"), readModule(g, name));
        }
        std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (auto& [order, m] : ordered) out.push_back(std::move(m));
    });
    return out;
}

void writePlanCostModule(const std::filesystem::path& path, const std::string& fingerprint, const ModuleCosts& m, std::int64_t order,
                         const SessionProvenance& provenanceIfNew) {
    SessionStore::editRoot(path, provenanceIfNew, [&](const H5::Group& root) {
        const H5::Group sweep = child(child(root, kGroup), fingerprint);
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
    });
}

}  // namespace qb::core

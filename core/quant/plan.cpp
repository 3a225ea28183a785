#include "core/quant/plan.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/quant/method_registry.h"
#include "core/util/error.h"
#include "core/util/json_input.h"
#include "core/util/temp_path.h"

namespace qb::core {

namespace {

using json = nlohmann::json;

bool getBool(const json& v, const std::string& key, const std::string& origin) {
    if (!v.is_boolean()) throw Error(origin + ": \"" + key + "\" must be true or false, not " + v.dump());
    return v.get<bool>();
}

long long getInt(const json& v, const std::string& key, const std::string& origin, long long lo, long long hi) {
    if (!v.is_number_integer()) throw Error(origin + ": \"" + key + "\" must be an integer, not " + v.dump());
    const long long x = v.get<long long>();
    if (x < lo || x > hi)
        throw Error(origin + ": \"" + key + "\" is " + std::to_string(x) + ", outside " + std::to_string(lo) + "–" + std::to_string(hi));
    return x;
}

double getNumber(const json& v, const std::string& key, const std::string& origin, double lo, double hi) {
    if (!v.is_number()) throw Error(origin + ": \"" + key + "\" must be a number, not " + v.dump());
    const double x = v.get<double>();
    if (!(x >= lo && x <= hi)) throw Error(origin + ": \"" + key + "\" is " + v.dump() + ", outside " + json(lo).dump() + "–" + json(hi).dump());
    return x;
}

// The ranges below are what the quantizers accept, so that a plan that parses (and passes
// --dry-run) does not fail in the middle of a run:
//   bits          2..8           packed weights and the GPTQ bit streams (quant_matmul.h, gptq_pack.h)
//   group_size    ≥ 1, or −1     QuantizedWeight; −1 = one group per row
//   act_bits      4..8           W8A8Linear's per-token activations (8: int8 kernels; below: simulated);
//                                for the grid methods (rtn, gptq, awq, omniquant) per-token asymmetric
//                                activations, simulated (omniquant then trains LET); null = weight-only
//   threshold     > 0, finite    LlmInt8Linear
//   damp_percent  0..1           GPTQ (λ = damp_percent · mean diag H)
//   block_size    ≥ 1            GPTQ lazy batches
//   grid          ≥ 1            AWQ's α grid
//   alpha         0..1           SmoothQuant's migration strength
//   epochs        0..1000        OmniQuant's passes over the calibration windows (0: RTN with the initial clipping)
//   lr_lwc        > 0, finite    OmniQuant's AdamW learning rate (aug_loss: true/false)
//   lr_let        > 0, finite    OmniQuant's LET learning rate (let, lwc: true/false; alpha initialises the scales)
constexpr int kMaxGroupSize = 1 << 20;
constexpr int kMaxBlockSize = 1 << 16;
constexpr int kMaxAwqGrid = 1000;

int getBits(const json& v, const std::string& origin) {
    if (!v.is_number_integer()) throw Error(origin + ": \"bits\" must be an integer, not " + v.dump());
    const long long b = v.get<long long>();
    if (b < 0 || b > 64 || !isSupportedWeightBits(int(b)))
        throw Error(origin + ": \"bits\" is " + std::to_string(b) + ", outside " + kSupportedWeightBitsText);
    return int(b);
}

double getPositive(const json& v, const std::string& key, const std::string& origin) {
    if (!v.is_number()) throw Error(origin + ": \"" + key + "\" must be a number, not " + v.dump());
    const double x = v.get<double>();
    if (!(x > 0.0) || !std::isfinite(x)) throw Error(origin + ": \"" + key + "\" is " + v.dump() + "; it must be a finite number > 0");
    return x;
}

void applyKeys(const json& obj, QuantScheme& s, const std::string& origin, bool allowMatch) {
    if (!obj.is_object()) throw Error(origin + ": expected a JSON object, not " + obj.dump());
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        const std::string& k = it.key();
        const json& v = it.value();
        if (k == "match" && allowMatch) continue;
        if (k == "method") {
            if (!v.is_string()) throw Error(origin + ": \"method\" must be a string");
            const auto m = methodFromName(v.get<std::string>());
            if (!m)
                throw Error(origin + ": unknown method '" + v.get<std::string>() + "' (known: " + methodNameList() + ")");
            s.method = *m;
        } else if (k == "bits") {
            s.grid.bits = getBits(v, origin);
        } else if (k == "group_size") {
            if (!v.is_number_integer()) throw Error(origin + ": \"group_size\" must be an integer (−1 = per output row)");
            const long long g = v.get<long long>();
            if (g == -1)
                s.grid.groupSize.reset();
            else if (g <= 0)
                throw Error(origin + ": \"group_size\" is " + std::to_string(g) + "; use a positive size or -1 for one group per row");
            else
                s.grid.groupSize = int(getInt(v, k, origin, 1, kMaxGroupSize));
        } else if (k == "sym") {
            s.grid.sym = getBool(v, k, origin);
        } else if (k == "act_order") {
            s.gptq.actOrder = getBool(v, k, origin);
        } else if (k == "damp_percent") {
            s.gptq.dampPercent = getNumber(v, k, origin, 0.0, 1.0);
        } else if (k == "block_size") {
            s.gptq.blockSize = int(getInt(v, k, origin, 1, kMaxBlockSize));
        } else if (k == "static_groups") {
            s.gptq.staticGroups = getBool(v, k, origin);
        } else if (k == "grid") {
            s.awq.grid = int(getInt(v, k, origin, 1, kMaxAwqGrid));
        } else if (k == "clip_search") {
            s.awq.clipSearch = getBool(v, k, origin);
        } else if (k == "alpha") {  // SmoothQuant's migration strength, and LET's initial one
            s.smooth.alpha = getNumber(v, k, origin, 0.0, 1.0);
            s.omniquant.letAlpha = s.smooth.alpha;
        } else if (k == "act_bits") {  // one key for every method that quantizes activations
            if (v.is_null()) {
                s.smooth.actBits = 8;
                s.gridActBits.reset();
            } else {
                s.smooth.actBits = int(getInt(v, k, origin, kMinActBits, kMaxActBits));
                s.gridActBits = s.smooth.actBits;
            }
        } else if (k == "threshold") {
            s.llmInt8.threshold = getPositive(v, k, origin);
        } else if (k == "epochs") {
            s.omniquant.epochs = int(getInt(v, k, origin, 0, kMaxOmniQuantEpochs));
        } else if (k == "lr_lwc") {
            s.omniquant.lrLwc = getPositive(v, k, origin);
        } else if (k == "aug_loss") {
            s.omniquant.augLoss = getBool(v, k, origin);
        } else if (k == "lwc") {
            s.omniquant.lwc = getBool(v, k, origin);
        } else if (k == "let") {
            s.omniquant.let = getBool(v, k, origin);
        } else if (k == "lr_let") {
            s.omniquant.lrLet = getPositive(v, k, origin);
        } else {
            throw Error(origin + ": unknown key \"" + k + "\"");
        }
    }
}

// Parses text; a syntax error becomes "<origin>: malformed JSON at line L, column C".
json parseJson(const std::string& text, const std::string& origin) {
    try {
        return parseJsonInput(text, origin, kPlanJsonLimits);
    } catch (const json::parse_error& e) {
        // e.byte: 1-based offset of the character where parsing stopped.
        const std::size_t end = std::min(text.size(), e.byte > 0 ? std::size_t(e.byte - 1) : 0);
        std::size_t line = 1, column = 1;
        for (std::size_t i = 0; i < end; ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw Error(origin + ": malformed JSON at line " + std::to_string(line) + ", column " + std::to_string(column));
    } catch (const json::exception& e) {
        throw Error(origin + ": malformed JSON (" + e.what() + ")");
    }
}

}  // namespace

bool globMatch(const std::string& pattern, const std::string& text) {
    // Iterative wildcard match with backtracking to the last '*'.
    std::size_t p = 0, t = 0, star = std::string::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

void applySchemeJson(const std::string& text, QuantScheme& scheme, const std::string& origin) {
    applyKeys(parseJson(text, origin), scheme, origin, false);
}

std::string schemeToJson(const QuantScheme& s) {
    nlohmann::ordered_json j;
    j["method"] = methodName(s.method);
    j["bits"] = s.grid.bits;
    j["group_size"] = s.grid.groupSize ? *s.grid.groupSize : -1;
    j["sym"] = s.grid.sym;
    j["act_order"] = s.gptq.actOrder;
    j["damp_percent"] = s.gptq.dampPercent;
    j["block_size"] = s.gptq.blockSize;
    j["static_groups"] = s.gptq.staticGroups;
    j["grid"] = s.awq.grid;
    j["clip_search"] = s.awq.clipSearch;
    j["alpha"] = s.smooth.alpha;
    // Only where activations are quantized: for omniquant the key makes the scheme weight-activation.
    if (s.method == QuantMethod::W8A8 || s.method == QuantMethod::SmoothQuant) j["act_bits"] = s.smooth.actBits;
    if (methodInfo(s.method).weightOnly && s.gridActBits) j["act_bits"] = *s.gridActBits;
    j["threshold"] = s.llmInt8.threshold;
    j["epochs"] = s.omniquant.epochs;
    j["lr_lwc"] = s.omniquant.lrLwc;
    j["aug_loss"] = s.omniquant.augLoss;
    j["lwc"] = s.omniquant.lwc;
    j["let"] = s.omniquant.let;
    j["lr_let"] = s.omniquant.lrLet;
    return j.dump();
}

QuantPlan QuantPlan::fromJsonText(const std::string& text, const std::string& origin) {
    const json j = parseJson(text, origin);
    if (!j.is_object()) throw Error(origin + ": a plan is a JSON object with \"default\" and \"rules\"");
    QuantPlan plan;
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "default" && it.key() != "rules" && it.key() != "name" && it.key() != "description")
            throw Error(origin + ": unknown key \"" + it.key() + "\" (a plan has \"default\" and \"rules\")");
    if (j.contains("default")) applyKeys(j["default"], plan.defaultScheme, origin + ": default", false);
    if (j.contains("rules")) {
        if (!j["rules"].is_array()) throw Error(origin + ": \"rules\" must be an array");
        int i = 0;
        for (const auto& r : j["rules"]) {
            ++i;
            const std::string where = origin + ": rule " + std::to_string(i);
            if (!r.is_object() || !r.contains("match") || !r["match"].is_string() || r["match"].get<std::string>().empty())
                throw Error(where + ": needs a \"match\" glob");
            QuantScheme probe = plan.defaultScheme;
            applyKeys(r, probe, where, true);  // validates keys and ranges now, not at resolve time
            json settings = r;
            settings.erase("match");
            plan.rules.push_back({r["match"].get<std::string>(), settings.dump()});
        }
    }
    return plan;
}

QuantPlan QuantPlan::fromFile(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file.string() + ": cannot read the plan (missing or unreadable)");
    std::ostringstream ss;
    ss << in.rdbuf();
    return fromJsonText(ss.str(), file.string());
}

std::string QuantPlan::toJsonText() const {
    nlohmann::ordered_json j;
    j["default"] = nlohmann::ordered_json::parse(schemeToJson(defaultScheme));
    j["rules"] = nlohmann::ordered_json::array();
    for (const auto& r : rules) {
        nlohmann::ordered_json o;
        o["match"] = r.match;
        const auto settings = nlohmann::ordered_json::parse(r.settingsJson);  // named: items() must not outlive it
        for (const auto& [k, v] : settings.items()) o[k] = v;
        j["rules"].push_back(o);
    }
    return j.dump(2) + "\n";
}

void QuantPlan::saveFile(const std::filesystem::path& file) const {
    const std::filesystem::path tmp = atomicTempPath(file);  // "<file>.tmp-<pid>"; killed runs' temps swept
    std::error_code ec;
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(file.string() + ": cannot write the plan (" + std::strerror(errno) + ")");
        out << toJsonText();
        if (!out.flush()) {
            out.close();
            std::filesystem::remove(tmp, ec);
            throw Error(file.string() + ": write failed");
        }
    }
    std::filesystem::rename(tmp, file, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw Error(file.string() + ": cannot rename the plan into place");
    }
}

QuantScheme QuantPlan::resolve(const std::string& moduleName) const {
    QuantScheme s = defaultScheme;
    for (std::size_t i = 0; i < rules.size(); ++i)
        if (globMatch(rules[i].match, moduleName)) applySchemeJson(rules[i].settingsJson, s, "rule " + std::to_string(i + 1));
    return s;
}

std::vector<std::string> QuantPlan::check(const std::vector<std::string>& moduleNames) const {
    std::vector<std::string> warnings;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        bool any = false;
        for (const auto& n : moduleNames) any = any || globMatch(rules[i].match, n);
        if (!any) warnings.push_back("rule " + std::to_string(i + 1) + " (" + rules[i].match + ") matches no module");
    }
    return warnings;
}

}  // namespace qb::core

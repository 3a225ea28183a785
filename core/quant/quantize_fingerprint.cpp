#include "core/quant/quantize_fingerprint.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "core/util/json_input.h"
#include "core/util/sha256.h"

namespace qb::core {

namespace {

// Bytes hashed at each end of a tensor's data.
constexpr std::size_t kSampleBytes = 4096;

std::string modelWeightsDigest(const Checkpoint& checkpoint) {
    Sha256 h;
    for (const auto& file : checkpoint.files()) {
        h.update(file->path().filename().string());
        h.update(file->headerText());
        std::error_code ec;
        h.update(std::to_string(std::filesystem::file_size(file->path(), ec)));
        for (const TensorInfo& t : file->tensors()) {
            const std::size_t head = std::min(kSampleBytes, t.nbytes);
            h.update(t.data, head);
            if (t.nbytes > head) {
                const std::size_t tail = std::min(kSampleBytes, t.nbytes - head);
                h.update(t.data + (t.nbytes - tail), tail);
            }
        }
    }
    return h.hexDigest();
}

std::string tokensDigest(const std::vector<int>& tokens) {
    Sha256 h;
    for (const int t : tokens) {
        const std::uint32_t u = std::uint32_t(t);
        const unsigned char le[4] = {static_cast<unsigned char>(u), static_cast<unsigned char>(u >> 8),
                                     static_cast<unsigned char>(u >> 16), static_cast<unsigned char>(u >> 24)};
        h.update(le, 4);
    }
    return h.hexDigest();
}

}  // namespace

void QuantizeFingerprint::add(std::string name, std::string value, bool literal) {
    m_fields.push_back({std::move(name), std::move(value), literal});
}

std::string QuantizeFingerprint::toJson() const {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& f : m_fields) j[f.name] = {{"value", f.value}, {"literal", f.literal}};
    return j.dump(2) + "\n";
}

QuantizeFingerprint QuantizeFingerprint::fromJson(const std::string& text, const std::string& origin) {
    QuantizeFingerprint fp;
    try {
        const auto j = parseOrderedJsonInput(text, origin, kResumeStateJsonLimits);
        if (!j.is_object()) throw Error(origin + ": not a fingerprint (expected a JSON object)");
        for (const auto& [name, field] : j.items()) {
            if (!field.is_object() || !field.contains("value") || !field["value"].is_string() || !field.contains("literal") ||
                !field["literal"].is_boolean())
                throw Error(origin + ": fingerprint field '" + name + "' is malformed");
            fp.add(name, field["value"].get<std::string>(), field["literal"].get<bool>());
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(origin + ": not valid JSON (" + e.what() + ")");
    }
    return fp;
}

std::optional<std::string> QuantizeFingerprint::changeFrom(const QuantizeFingerprint& before) const {
    for (const auto& now : m_fields) {
        const auto old = std::find_if(before.m_fields.begin(), before.m_fields.end(),
                                      [&](const FingerprintField& f) { return f.name == now.name; });
        if (old == before.m_fields.end()) return "the interrupted run recorded no " + now.name;
        if (old->value == now.value) continue;
        if (now.literal) return "the " + now.name + " changed (" + old->value + " → " + now.value + ")";
        return "the " + now.name + " changed";
    }
    for (const auto& old : before.m_fields)
        if (std::none_of(m_fields.begin(), m_fields.end(), [&](const FingerprintField& f) { return f.name == old.name; }))
            return "the interrupted run recorded a " + old.name + " this run does not have";
    return std::nullopt;
}

QuantizeFingerprint quantizeFingerprint(const std::filesystem::path& modelDir, const QuantPlan& plan, const std::string& calibText,
                                        const CalibrationSet& calibration, std::uint64_t seed, const QuantizeOptions& options,
                                        const std::string& device) {
    const auto checkpoint = Checkpoint::open(modelDir);
    QuantizeFingerprint fp;
    fp.add("quantbench version", QB_VERSION, true);
    fp.add("model config", sha256FileHex(modelDir / "config.json"));
    fp.add("model weights", modelWeightsDigest(*checkpoint));
    fp.add("plan", sha256Hex(plan.toJsonText()));
    fp.add("calibration text", sha256Hex(calibText));
    fp.add("calibration windows", std::to_string(calibration.windows), true);
    fp.add("calibration ctx", std::to_string(calibration.ctx), true);
    fp.add("seed", std::to_string(seed), true);
    fp.add("calibration tokens", tokensDigest(calibration.tokens));
    fp.add("rows kept", std::to_string(options.maxRowsKept), true);
    fp.add("device", device, true);
    return fp;
}

}  // namespace qb::core

// compressed-tensors reader, from compressed_tensors' decompression path
// (compressors/quantized_compressors/pack_quantized.py unpack_from_int32, naive_quantized.py,
// quantization/lifecycle/forward.py _dequantize, utils/match.py):
//   a module is quantized by the first config group whose targets match it ("re:" prefix: a
//   regex matched from the start; otherwise the exact name, or the class name "Linear"), unless
//   "ignore" matches it the same way;
//   pack-quantized: weight_shape [out, in]; weight_packed int32 [out, ceil(in/(32/bits))] with
//     element c at shift bits·(c mod 32/bits) of word c/(32/bits), minus 2^(bits−1) for the
//     signed value; weight_scale [out, groups]; weight_zero_point int32 [ceil(out/(32/bits)),
//     groups] packed along dim 0 (asymmetric group/channel only; else the zero point is 0);
//     weight_g_idx [in] when present (else c / group_size);
//   int-quantized: weight int8 [out, in], weight_scale [out, 1] (or [out, groups]);
//   W = (q − zero_point) · scale.

#include <nlohmann/json.hpp>

#include "core/export/readers/config_value.h"
#include "core/export/readers/exported_folder_reader.h"
#include "core/text/regex.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

bool matches(const std::string& name, const std::string& target) {
    if (target.rfind("re:", 0) == 0) return text::Regex(target.substr(3)).matchesAtStart(name);  // Python re.match
    return target == name || target == "Linear";
}

class CompressedTensorsReader final : public ExportedFolderReader {
public:
    explicit CompressedTensorsReader(std::shared_ptr<const HfFolder> folder) : ExportedFolderReader(std::move(folder)) {
        m_config = nlohmann::json::parse(m_folder->quantizationConfigJson());
        m_format = configValue<std::string>(m_config, "format", "", where());
        if (configValue<std::string>(m_config, "quantization_status", "compressed", where()) != "compressed")
            throw Error(m_folder->dir().string() + ": quantization_status is not 'compressed'");
    }
    std::string format() const override { return "compressed-tensors"; }
    std::string variant() const override { return m_format; }

    DecodedLinear linear(const std::string& name, Index out, Index in) const override {
        for (const auto& t : listOf(m_config, "ignore", where()))
            if (configString(t, where() + ".ignore[]") != "Linear" && matches(name, t.get<std::string>()))
                return readPlainLinear(*m_folder, name, out, in);
        const auto groups = m_config.find("config_groups");
        if (groups != m_config.end() && !groups->is_null() && !groups->is_object()) throw Error(where() + ".config_groups is not a JSON object");
        if (groups != m_config.end() && groups->is_object())
            for (const auto& [gname, group] : groups->items()) {
                const std::string at = where() + ".config_groups." + gname;
                for (const auto& t : listOf(group, "targets", at))
                    if (matches(name, configString(t, at + ".targets[]"))) {
                        const std::string format = group.contains("format") && group["format"].is_string() ? group["format"].get<std::string>() : m_format;
                        if (format == "pack-quantized") {
                            const auto w = group.find("weights");
                            if (w == group.end() || !w->is_object()) throw Error(at + ".weights is not a JSON object");
                            return packed(name, *w, at + ".weights", out, in);
                        }
                        if (format == "int-quantized") return intQuantized(name, out, in);
                        throw Error(m_folder->dir().string() + ": " + name + ": format '" + format + "' is not one this reader knows");
                    }
            }
        return readPlainLinear(*m_folder, name, out, in);
    }

private:
    std::string where() const { return m_folder->dir().string() + "/config.json: quantization_config"; }
    // obj[key] as a JSON array (empty when absent or null); Error when it is anything else.
    static const nlohmann::json& listOf(const nlohmann::json& obj, const char* key, const std::string& at) {
        static const nlohmann::json none = nlohmann::json::array();
        if (!obj.is_object()) throw Error(at + " is not a JSON object");
        const auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return none;
        if (!it->is_array()) throw Error(at + "." + key + " is not a JSON array");
        return *it;
    }

    DecodedLinear packed(const std::string& name, const nlohmann::json& w, const std::string& at, Index out, Index in) const {
        const int bits = configValue(w, "num_bits", 4, at);
        if (bits < 1 || bits > 8) throw Error(m_folder->dir().string() + ": " + name + ": num_bits " + std::to_string(bits));
        const Index pf = 32 / bits;
        const auto shape = m_folder->integers(name + ".weight_shape", 2);
        if (shape[0] != out || shape[1] != in)
            throw Error(m_folder->dir().string() + ": " + name + ".weight_shape is [" + std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + "]");
        const std::string strategy = configValue<std::string>(w, "strategy", "", at);
        const bool symmetric = configValue(w, "symmetric", true, at);
        const Index groupSize = strategy == "group" ? Index(configValue(w, "group_size", 0, at)) : in;
        if (groupSize <= 0) throw Error(m_folder->dir().string() + ": " + name + ": group strategy without a group_size");
        const Index groups = (in + groupSize - 1) / groupSize;
        const std::int32_t offset = 1 << (bits - 1);
        const std::uint32_t mask = (1u << bits) - 1u;
        const Index words = (in + pf - 1) / pf;
        const auto qw = m_folder->int32s(name + ".weight_packed", {out, words});
        const MatrixRM scale = m_folder->floats(name + ".weight_scale", {out, groups});
        std::vector<std::int32_t> zp(std::size_t(out * groups), 0);  // signed zero points [out, groups]
        if (!symmetric) {
            const Index zw = (out + pf - 1) / pf;
            const auto z = m_folder->int32s(name + ".weight_zero_point", {zw, groups});
            for (Index o = 0; o < out; ++o)
                for (Index g = 0; g < groups; ++g)
                    zp[std::size_t(o * groups + g)] = std::int32_t((std::uint32_t(z[std::size_t((o / pf) * groups + g)]) >> (bits * (o % pf))) & mask) - offset;
        }
        std::vector<std::int32_t> gIdx(static_cast<std::size_t>(in));
        if (m_folder->find(name + ".weight_g_idx")) gIdx = m_folder->int32s(name + ".weight_g_idx", {in});
        else
            for (Index c = 0; c < in; ++c) gIdx[std::size_t(c)] = std::int32_t(c / groupSize);
        DecodedLinear d;
        d.weight.resize(out, in);
        for (Index o = 0; o < out; ++o)
            for (Index c = 0; c < in; ++c) {
                const std::int32_t q = std::int32_t((std::uint32_t(qw[std::size_t(o * words + c / pf)]) >> (bits * (c % pf))) & mask) - offset;
                const std::int32_t g = gIdx[std::size_t(c)];
                if (g < 0 || g >= groups) throw Error(m_folder->dir().string() + ": " + name + ".weight_g_idx[" + std::to_string(c) + "] is no group");
                d.weight(o, c) = float(q - zp[std::size_t(o * groups + g)]) * scale(o, g);
            }
        d.bias = readBias(*m_folder, name, out);
        d.storage = "pack-quantized int" + std::to_string(bits) + (strategy == "group" ? " g" + std::to_string(groupSize) : " channel") +
                    (symmetric ? " sym" : " asym");
        return d;
    }

    DecodedLinear intQuantized(const std::string& name, Index out, Index in) const {
        const auto q = m_folder->int8s(name + ".weight", {out, in});
        const MatrixRM scale = m_folder->floats(name + ".weight_scale", {out, 1});
        DecodedLinear d;
        d.weight.resize(out, in);
        for (Index o = 0; o < out; ++o)
            for (Index c = 0; c < in; ++c) d.weight(o, c) = float(q[std::size_t(o * in + c)]) * scale(o, 0);
        d.bias = readBias(*m_folder, name, out);
        d.storage = "int-quantized int8";
        return d;
    }

    nlohmann::json m_config;
    std::string m_format;
};

}  // namespace

std::unique_ptr<ExportedFolderReader> makeCompressedTensorsReader(std::shared_ptr<const HfFolder> folder) {
    return std::make_unique<CompressedTensorsReader>(std::move(folder));
}

}  // namespace qb::core

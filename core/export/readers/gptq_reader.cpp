// GPTQ reader, from the loaders: AutoGPTQ's and GPTQModel's dequantize_weight
// (gptqmodel/nn_modules/qlinear/__init__.py) and their v1/v2 zero-point handling
// (gptqmodel/utils/model.py), vLLM's "dynamic" overrides:
//   qweight int32 [in/32·bits, out]: for 2/4/8 bits input row i sits in word row
//     (i/32)·bits + (i mod 32)/(32/bits) at shift ((i mod 32) mod 32/bits)·bits; for 3 bits each
//     32 rows fill 3 words as 10 | 1 | 10 | 1 | 10 values (rows 10 and 21 straddle words)
//   qzeros int32 [groups, out/32·bits], the same packing along out; v1 ("gptq") stores zero − 1
//     and the loader adds 1 (without wrapping), v2 ("gptq_v2") stores the zero point
//   scales F16 [groups, out]; g_idx int32 [in] (absent: i / group_size)
//   W[o, i] = scales[g, o] · (q[i, o] − zero[g, o]), g = g_idx[i]
// quantization_config: bits, group_size (−1: one group), sym, desc_act, checkpoint_format, and
// "dynamic": {"+:regex": {overrides}, "-:regex": {}} matched from the start of the module name
// (Python re.match), first match wins; "-:" modules are not quantized (plain weight).
#include <nlohmann/json.hpp>

#include "core/export/readers/config_value.h"
#include "core/export/readers/exported_folder_reader.h"
#include "core/quant/gptq_dynamic.h"
#include "core/text/regex.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

// Field f of the 32-row block whose words are w[0..bits): the code of row f.
std::uint32_t gptqField(const std::uint32_t* w, int f, int bits) {
    if (bits != 3) {
        const int perWord = 32 / bits;
        return (w[f / perWord] >> ((f % perWord) * bits)) & ((1u << bits) - 1u);
    }
    if (f < 10) return (w[0] >> (3 * f)) & 7u;
    if (f == 10) return ((w[0] >> 30) & 3u) | ((w[1] & 1u) << 2);
    if (f < 21) return (w[1] >> (3 * (f - 11) + 1)) & 7u;
    if (f == 21) return ((w[1] >> 31) & 1u) | ((w[2] & 3u) << 1);
    return (w[2] >> (3 * (f - 22) + 2)) & 7u;
}

struct Scheme {
    int bits = 4;
    int groupSize = -1;
    bool quantized = true;
};

class GptqReader final : public ExportedFolderReader {
public:
    explicit GptqReader(std::shared_ptr<const HfFolder> folder) : ExportedFolderReader(std::move(folder)) {
        const auto q = nlohmann::json::parse(m_folder->quantizationConfigJson());
        m_default.bits = configValue(q, "bits", 4, where());
        m_default.groupSize = configValue(q, "group_size", -1, where());
        m_variant = configValue<std::string>(q, "checkpoint_format", "gptq", where());
        if (m_variant != "gptq" && m_variant != "gptq_v2")
            throw Error(m_folder->dir().string() + ": checkpoint_format '" + m_variant + "' is neither gptq nor gptq_v2");
        if (q.contains("dynamic"))
            m_dynamic = GptqDynamicRules::parse(nlohmann::ordered_json::parse(q["dynamic"].dump()),
                                                m_folder->dir().string() + "/config.json: quantization_config.dynamic");
    }
    std::string format() const override { return "gptq"; }
    std::string variant() const override { return m_variant; }

    DecodedLinear linear(const std::string& name, Index out, Index in) const override {
        const Scheme s = schemeOf(name);
        if (!s.quantized || !m_folder->find(name + ".qweight")) return readPlainLinear(*m_folder, name, out, in);
        const int bits = s.bits;
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
            throw Error(where() + ": " + name + " has " + std::to_string(bits) + " bits; GPTQ packs 2, 3, 4 or 8");
        const Index groups = s.groupSize > 0 ? (in + s.groupSize - 1) / s.groupSize : 1;
        const auto qweight = m_folder->int32s(name + ".qweight", {in / 32 * bits, out});
        const auto qzeros = m_folder->int32s(name + ".qzeros", {groups, out / 32 * bits});
        const MatrixRM scales = m_folder->floats(name + ".scales", {groups, out});
        std::vector<std::int32_t> gIdx(std::size_t(in), 0);
        if (m_folder->find(name + ".g_idx")) gIdx = m_folder->int32s(name + ".g_idx", {in});
        else if (s.groupSize > 0)
            for (Index i = 0; i < in; ++i) gIdx[std::size_t(i)] = std::int32_t(i / s.groupSize);
        const std::uint32_t zeroOffset = m_variant == "gptq" ? 1u : 0u;

        // zero[g, o]
        std::vector<std::int32_t> zero(std::size_t(groups * out));
        std::uint32_t w[8];
        for (Index g = 0; g < groups; ++g)
            for (Index b = 0; b < out / 32; ++b) {
                for (int k = 0; k < bits; ++k) w[k] = std::uint32_t(qzeros[std::size_t(g * (out / 32 * bits) + b * bits + k)]);
                for (int f = 0; f < 32; ++f) zero[std::size_t(g * out + b * 32 + f)] = std::int32_t(gptqField(w, f, bits) + zeroOffset);
            }
        DecodedLinear d;
        d.weight.resize(out, in);
        for (Index b = 0; b < in / 32; ++b)
            for (Index o = 0; o < out; ++o) {
                for (int k = 0; k < bits; ++k) w[k] = std::uint32_t(qweight[std::size_t((b * bits + k) * out + o)]);
                for (int f = 0; f < 32; ++f) {
                    const Index i = b * 32 + f;
                    const std::int32_t g = gIdx[std::size_t(i)];
                    if (g < 0 || g >= groups) throw Error(m_folder->dir().string() + ": " + name + ".g_idx[" + std::to_string(i) + "] is no group");
                    d.weight(o, i) = scales(g, o) * float(std::int32_t(gptqField(w, f, bits)) - zero[std::size_t(g * out + o)]);
                }
            }
        d.bias = readBias(*m_folder, name, out);
        d.storage = "gptq int" + std::to_string(bits) + (s.groupSize > 0 ? " g" + std::to_string(s.groupSize) : " row") + " " + m_variant;
        return d;
    }

private:
    std::string where() const { return m_folder->dir().string() + "/config.json: quantization_config"; }
    Scheme schemeOf(const std::string& name) const {
        Scheme s = m_default;
        if (const GptqDynamicRule* r = m_dynamic.match(name)) {
            if (r->skip) s.quantized = false;
            const std::string at = where() + ".dynamic['" + r->pattern->pattern() + "']";
            s.bits = configValue(r->overrides, "bits", s.bits, at);
            s.groupSize = configValue(r->overrides, "group_size", s.groupSize, at);
        }
        return s;
    }
    Scheme m_default;
    std::string m_variant;
    GptqDynamicRules m_dynamic;
};

}  // namespace

std::unique_ptr<ExportedFolderReader> makeGptqReader(std::shared_ptr<const HfFolder> folder) {
    return std::make_unique<GptqReader>(std::move(folder));
}

}  // namespace qb::core

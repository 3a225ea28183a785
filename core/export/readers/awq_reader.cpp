// AWQ GEMM reader, from AutoAWQ's loader side (awq/utils/packing_utils.py unpack_awq and
// reverse_awq_order, awq/modules/linear/gemm.py WQLinear_GEMM):
//   qweight int32 [in, out/8]: shifts 0, 4, …, 28 give 8 nibbles per word; the nibbles of word j
//     are output columns 8j + [0, 4, 1, 5, 2, 6, 3, 7] read back through AWQ_REVERSE_ORDER,
//     i.e. column 8j + k is nibble kReverse[k]
//   qzeros int32 [in/g, out/8] packed the same; zero points as stored (no offset)
//   scales F16 [in/g, out];  W[o, i] = (q[i, o] − z[i/g, o]) · s[i/g, o]
// quantization_config: bits 4, group_size (−1: in_features), version "gemm",
// modules_to_not_convert (a module whose name contains one of them keeps its plain weight).
#include <nlohmann/json.hpp>

#include "core/export/readers/config_value.h"
#include "core/export/readers/exported_folder_reader.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr int kReverse[8] = {0, 4, 1, 5, 2, 6, 3, 7};  // AutoAWQ's AWQ_REVERSE_ORDER

class AwqReader final : public ExportedFolderReader {
public:
    explicit AwqReader(std::shared_ptr<const HfFolder> folder) : ExportedFolderReader(std::move(folder)) {
        const auto q = nlohmann::json::parse(m_folder->quantizationConfigJson());
        const std::string where = m_folder->dir().string() + "/config.json: quantization_config";
        m_group = configValue(q, "group_size", -1, where);
        m_version = configValue<std::string>(q, "version", "gemm", where);
        const int bits = configValue(q, "bits", 4, where);
        if (bits != 4) throw Error(m_folder->dir().string() + ": AWQ bits " + std::to_string(bits) + " (GEMM holds 4)");
        if (m_version != "gemm") throw Error(m_folder->dir().string() + ": AWQ version '" + m_version + "' (this reader knows gemm)");
        if (q.contains("modules_to_not_convert") && q["modules_to_not_convert"].is_array())
            for (const auto& m : q["modules_to_not_convert"]) m_notConverted.push_back(configString(m, where + ".modules_to_not_convert[]"));
    }
    std::string format() const override { return "awq"; }
    std::string variant() const override { return m_version; }

    DecodedLinear linear(const std::string& name, Index out, Index in) const override {
        for (const auto& m : m_notConverted)
            if (name.find(m) != std::string::npos) return readPlainLinear(*m_folder, name, out, in);
        const Index g = m_group > 0 ? m_group : in;
        const Index groups = in / g;
        if (out % 8 != 0) throw Error(m_folder->dir().string() + ": " + name + " has " + std::to_string(out) + " outputs; AWQ GEMM packs 8 a word");
        if (in % g != 0)
            throw Error(m_folder->dir().string() + "/config.json: quantization_config.group_size " + std::to_string(g) + " does not divide the " +
                        std::to_string(in) + " inputs of " + name);
        const auto qweight = m_folder->int32s(name + ".qweight", {in, out / 8});
        const auto qzeros = m_folder->int32s(name + ".qzeros", {groups, out / 8});
        const MatrixRM scales = m_folder->floats(name + ".scales", {groups, out});
        auto nibble = [](std::int32_t word, Index column) { return std::int32_t((std::uint32_t(word) >> (4 * kReverse[column % 8])) & 0xFu); };
        DecodedLinear d;
        d.weight.resize(out, in);
        for (Index i = 0; i < in; ++i)
            for (Index o = 0; o < out; ++o) {
                const std::int32_t q = nibble(qweight[std::size_t(i * (out / 8) + o / 8)], o);
                const std::int32_t z = nibble(qzeros[std::size_t((i / g) * (out / 8) + o / 8)], o);
                d.weight(o, i) = float(q - z) * scales(i / g, o);
            }
        d.bias = readBias(*m_folder, name, out);
        d.storage = "awq int4 g" + std::to_string(g);
        return d;
    }

private:
    int m_group = -1;
    std::string m_version;
    std::vector<std::string> m_notConverted;
};

}  // namespace

std::unique_ptr<ExportedFolderReader> makeAwqReader(std::shared_ptr<const HfFolder> folder) {
    return std::make_unique<AwqReader>(std::move(folder));
}

}  // namespace qb::core

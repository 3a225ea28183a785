#include "core/export/readers/exported_folder_reader.h"

#include <nlohmann/json.hpp>

#include "core/export/readers/config_value.h"
#include "core/util/error.h"

namespace qb::core {

std::optional<VectorF> readBias(const HfFolder& folder, const std::string& name, Index out) {
    if (!folder.find(name + ".bias")) return std::nullopt;
    const MatrixRM b = folder.floats(name + ".bias", {out});
    return VectorF(b.row(0).transpose());
}

DecodedLinear readPlainLinear(const HfFolder& folder, const std::string& name, Index out, Index in) {
    DecodedLinear d;
    d.weight = folder.floats(name + ".weight", {out, in});
    d.bias = readBias(folder, name, out);
    d.storage = folder.dtypeOf(name + ".weight");
    return d;
}

namespace {

// A folder without quantization_config: every module is `<name>.weight` in a float dtype.
class FloatFolderReader final : public ExportedFolderReader {
public:
    explicit FloatFolderReader(std::shared_ptr<const HfFolder> folder) : ExportedFolderReader(std::move(folder)) {}
    std::string format() const override { return "float"; }
    std::string variant() const override { return folder().dtypeOf("model.layers.0.self_attn.q_proj.weight"); }
    DecodedLinear linear(const std::string& name, Index out, Index in) const override { return readPlainLinear(folder(), name, out, in); }
};

}  // namespace

std::unique_ptr<ExportedFolderReader> makeFloatReader(std::shared_ptr<const HfFolder> folder) {
    return std::make_unique<FloatFolderReader>(std::move(folder));
}

std::unique_ptr<ExportedFolderReader> openExportedFolder(const std::filesystem::path& dir) {
    auto folder = HfFolder::open(dir);
    const auto q = nlohmann::json::parse(folder->quantizationConfigJson().empty() ? "{}" : folder->quantizationConfigJson());
    const std::string method = configValue<std::string>(q, "quant_method", "", (dir / "config.json").string() + ": quantization_config");
    if (method == "gptq") return makeGptqReader(folder);
    if (method == "awq") return makeAwqReader(folder);
    if (method == "compressed-tensors") return makeCompressedTensorsReader(folder);
    if (folder->quantizationConfigJson().empty()) return makeFloatReader(folder);
    throw Error((dir / "config.json").string() + ": quantization_config.quant_method is '" + method +
                "'; check-export reads gptq, awq and compressed-tensors folders, float folders (and .gguf files)");
}

}  // namespace qb::core

#include "core/export/readers/exported_folder_reader.h"

#include <nlohmann/json.hpp>

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

std::unique_ptr<ExportedFolderReader> openExportedFolder(const std::filesystem::path& dir) {
    auto folder = HfFolder::open(dir);
    const auto q = nlohmann::json::parse(folder->quantizationConfigJson().empty() ? "{}" : folder->quantizationConfigJson());
    const std::string method = q.value("quant_method", "");
    if (method == "gptq") return makeGptqReader(folder);
    if (method == "awq") return makeAwqReader(folder);
    if (method == "compressed-tensors") return makeCompressedTensorsReader(folder);
    throw Error((dir / "config.json").string() + ": quantization_config.quant_method is '" + method +
                "'; check-export reads gptq, awq and compressed-tensors folders (and .gguf files)");
}

}  // namespace qb::core

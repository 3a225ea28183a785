#pragma once
// Independent readers of the Hugging Face export formats, each written from its format's
// specification (the loaders' source, cited in each .cpp), sharing no packing code with the
// writers: they decode every linear module of a folder back to float weights, as a loader
// would, for checkHfExport (hf_check.h).
//   gptq_reader.cpp                v1 and v2 zero points, 2/3/4/8 bits, g_idx, "dynamic" overrides
//   awq_reader.cpp                 AutoAWQ GEMM (interleaved nibbles), modules_to_not_convert
//   compressed_tensors_reader.cpp  pack-quantized (group/channel, asym zero points, g_idx), int-quantized

#include <filesystem>
#include <memory>
#include <string>

#include "core/export/readers/hf_folder.h"

namespace qb::core {

class ExportedFolderReader {
public:
    virtual ~ExportedFolderReader() = default;
    /// "gptq", "awq", "compressed-tensors".
    [[nodiscard]] virtual std::string format() const = 0;
    /// checkpoint_format, AWQ version or compressed-tensors format, as the config says.
    [[nodiscard]] virtual std::string variant() const = 0;
    /// The module `name` [out, in] as a loader decodes it. Throws Error naming the tensor when
    /// the file does not hold what the config promises.
    [[nodiscard]] virtual DecodedLinear linear(const std::string& name, Index out, Index in) const = 0;
    [[nodiscard]] const HfFolder& folder() const { return *m_folder; }

protected:
    explicit ExportedFolderReader(std::shared_ptr<const HfFolder> folder) : m_folder(std::move(folder)) {}
    std::shared_ptr<const HfFolder> m_folder;
};

[[nodiscard]] std::unique_ptr<ExportedFolderReader> makeGptqReader(std::shared_ptr<const HfFolder> folder);
[[nodiscard]] std::unique_ptr<ExportedFolderReader> makeAwqReader(std::shared_ptr<const HfFolder> folder);
[[nodiscard]] std::unique_ptr<ExportedFolderReader> makeCompressedTensorsReader(std::shared_ptr<const HfFolder> folder);
/// A float folder (no quantization_config): every module a plain `<name>.weight`.
[[nodiscard]] std::unique_ptr<ExportedFolderReader> makeFloatReader(std::shared_ptr<const HfFolder> folder);

/// Opens dir and picks the reader from quantization_config.quant_method ("gptq", "awq",
/// "compressed-tensors"), or the float reader when there is no quantization_config. Throws
/// Error for any other quant_method.
[[nodiscard]] std::unique_ptr<ExportedFolderReader> openExportedFolder(const std::filesystem::path& dir);

/// A module stored unquantized: `<name>.weight` [out, in] and an optional `<name>.bias`, any float dtype.
[[nodiscard]] DecodedLinear readPlainLinear(const HfFolder& folder, const std::string& name, Index out, Index in);
/// `<name>.bias` [out] when present.
[[nodiscard]] std::optional<VectorF> readBias(const HfFolder& folder, const std::string& name, Index out);

}  // namespace qb::core

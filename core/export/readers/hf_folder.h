#pragma once
// HfFolder — a Hugging Face model folder opened for the export checks: config.json (its
// quantization_config kept as JSON text) and the tensors of model.safetensors or of the shards
// listed in model.safetensors.index.json, read with typed, shape-checked getters. Written for
// the independent readers (gptq_reader, awq_reader, compressed_tensors_reader); it shares no
// code with the writers in core/export.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/io/safetensors_file.h"
#include "core/util/matrix.h"

namespace qb::core {

class HfFolder {
public:
    /// Opens dir. Throws Error "<file>: <problem>" for a missing or malformed config.json or
    /// safetensors file.
    static std::shared_ptr<const HfFolder> open(const std::filesystem::path& dir);

    [[nodiscard]] const std::filesystem::path& dir() const { return m_dir; }
    /// config.json as text, and its quantization_config as text ("" when absent).
    [[nodiscard]] const std::string& configJson() const { return m_config; }
    [[nodiscard]] const std::string& quantizationConfigJson() const { return m_quantization; }
    /// Every tensor name, sorted.
    [[nodiscard]] std::vector<std::string> names() const;
    [[nodiscard]] const TensorInfo* find(const std::string& name) const;

    /// The tensor's elements; Error naming the file and tensor unless it exists with this dtype and shape.
    [[nodiscard]] std::vector<std::int32_t> int32s(const std::string& name, const std::vector<std::int64_t>& shape) const;
    [[nodiscard]] std::vector<std::int8_t> int8s(const std::string& name, const std::vector<std::int64_t>& shape) const;
    /// An integer vector of n elements stored as I32 or I64.
    [[nodiscard]] std::vector<std::int64_t> integers(const std::string& name, std::int64_t n) const;
    /// F32, F16 or BF16 elements as float, row-major [shape[0], product of the rest] (a vector is [1, n]).
    [[nodiscard]] MatrixRM floats(const std::string& name, const std::vector<std::int64_t>& shape) const;
    /// The dtype name of a tensor ("F16", ...).
    [[nodiscard]] std::string dtypeOf(const std::string& name) const;

private:
    const TensorInfo& checked(const std::string& name, const std::vector<std::int64_t>& shape) const;
    std::filesystem::path m_dir;
    std::string m_config;
    std::string m_quantization;
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::map<std::string, std::pair<const SafetensorsFile*, const TensorInfo*>> m_tensors;
};

/// One linear module as a reader decodes it.
struct DecodedLinear {
    MatrixRM weight;              ///< [out, in], float
    std::optional<VectorF> bias;  ///< [out]
    std::string storage;          ///< what the file holds, e.g. "gptq int4 g32 v1", "F16"
};

}  // namespace qb::core

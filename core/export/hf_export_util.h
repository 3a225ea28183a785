#pragma once
// Helpers shared by the Hugging Face format writers (gptq_export.cpp, awq_export.cpp,
// compressed_tensors_export.cpp). Not used by the readers in readers/, which stay independent.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/export/hf_export.h"
#include "core/util/json_file.h"  // escapeRegex

namespace qb::core {

/// Every linear module of model in forward order: (HF name, module), each module shared so that
/// it outlives a streamed model's layer (which is dropped once nothing holds it).
[[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<const Linear>>> linearModules(const LlamaModel& model);
/// Throws Error naming the module when it quantizes its activations — int8 codes with int8
/// activations (W8A8, SmoothQuant, LLM.int8()) or OmniQuant's grid with per-token activations —
/// which formatName has no layout for.
void refuseInt8Module(const std::string& name, const Linear& linear, const std::string& formatName);
/// The dtype the source folder stores model.embed_tokens.weight in when it is F16 or BF16,
/// else F32: the exports keep the embedding (and an untied head) in it.
[[nodiscard]] DType sourceEmbeddingDtype(const std::filesystem::path& modelDir);
/// Records a quantized module written as F16 because formatName's packing cannot hold it.
void keepF16(HfExportReport& report, const std::string& name, const std::string& was, const std::string& why, const std::string& formatName);
/// An I32 tensor of the given shape.
[[nodiscard]] TensorBlob int32Blob(std::string name, std::vector<std::int64_t> shape, const std::vector<std::int32_t>& data);
/// An F16 tensor from IEEE binary16 bit patterns.
[[nodiscard]] TensorBlob f16BitsBlob(std::string name, std::vector<std::int64_t> shape, const std::vector<std::uint16_t>& data);

}  // namespace qb::core

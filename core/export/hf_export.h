#pragma once
// Export of a quantbench model as a Hugging Face folder that other engines load:
//   gptq               transformers / AutoGPTQ / GPTQModel / vLLM (checkpoint_format "gptq" or "gptq_v2")
//   awq                AutoAWQ's GEMM layout (quant_method "awq", version "gemm"), transformers, vLLM
//   compressed-tensors vLLM's native format as llm-compressor writes it ("pack-quantized")
//   f16, bf16          dequantized: every module's weight as F16/BF16, no quantization_config,
//                      for any engine that reads float checkpoints (float_export.cpp)
// Each format lives in its own file (gptq_export.cpp, awq_export.cpp,
// compressed_tensors_export.cpp) and only decides, per linear module, which tensors it becomes
// and what quantization_config says; writeHfFolder() writes every folder the same way:
// config.json (the source config, torch_dtype float16, the format's quantization_config),
// model.safetensors (embedding in the source's dtype, norms F32, the modules' tensors), the
// tokenizer files, and quantbench_export.json (the report below). Modules a format cannot hold
// (widths its packing does not fit) are written as F16 `weight` and listed, as llama.cpp keeps
// such rows in F16; what a format cannot represent at all (act-order in AWQ, int8 activations
// in GPTQ, 3-bit in AWQ) is refused with one message naming the module.
//
// The independent readers that check these folders are in core/export/readers/.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/io/safetensors_file.h"
#include "core/model/llama_model.h"
#include "core/quant/gptq_pack.h"
#include "core/util/run_context.h"

namespace qb::core {

enum class HfExportFormat { Gptq, Awq, CompressedTensors, Float16, BFloat16 };

/// "gptq", "awq", "compressed-tensors", "f16", "bf16".
[[nodiscard]] std::string hfExportFormatName(HfExportFormat f);
/// Parses a format name (the spellings above); nullopt when unknown.
[[nodiscard]] std::optional<HfExportFormat> parseHfExportFormat(const std::string& name);

struct HfExportOptions {
    HfExportFormat format = HfExportFormat::Gptq;
    /// GPTQ zero-point convention; empty = v1 when every group's zero point is ≥ 1, else v2.
    /// Asking for V1 when a zero point is 0 is refused (v1 cannot hold it).
    std::optional<GptqZeroFormat> gptqZeros;
};

/// What became of one linear module.
struct HfExportModule {
    std::string name;
    std::string storage;  ///< e.g. "gptq int4 g32", "awq int4 g32", "pack-quantized int4 g32 asym", "F16"
    std::string note;     ///< why it is F16 when it was quantized; empty otherwise
};

struct HfExportReport {
    std::filesystem::path dir;
    HfExportFormat format = HfExportFormat::Gptq;
    std::string variant;  ///< checkpoint_format ("gptq"/"gptq_v2"), AWQ version ("gemm"), compressed-tensors format
    std::uint64_t bytes = 0;  ///< all files of the folder
    double seconds = 0.0;
    std::vector<HfExportModule> modules;  ///< forward order
    std::vector<std::string> warnings;    ///< one line per module kept in F16, and loader caveats
    [[nodiscard]] int keptF16() const;    ///< quantized modules written as F16
};

/// What a format writes: the quantization_config, and per module its tensors.
struct HfFolderPlan {
    std::string quantizationConfigJson;  ///< the config.json "quantization_config" object; empty = none
    std::string torchDtype = "float16";  ///< config.json's torch_dtype
    std::string extraFileName;           ///< e.g. "quantize_config.json"; empty = none
    std::string extraFileJson;
    /// The tensors of one linear module (weight-like ones and the bias), names included.
    std::function<std::vector<TensorBlob>(const std::string& name, const Linear& linear)> moduleTensors;
    HfExportReport report;  ///< variant, modules and warnings filled in by the format
};

/// The GPTQ plan for model (gptq_export.cpp). Throws Error naming the module it refuses.
[[nodiscard]] HfFolderPlan planGptqExport(const LlamaModel& model, const HfExportOptions& options);
/// The AWQ GEMM plan (awq_export.cpp). Throws Error naming the module it refuses.
[[nodiscard]] HfFolderPlan planAwqExport(const LlamaModel& model);
/// The compressed-tensors plan (compressed_tensors_export.cpp). Throws Error naming the module it refuses.
[[nodiscard]] HfFolderPlan planCompressedTensorsExport(const LlamaModel& model);

/// The dequantized plan (float_export.cpp): every module's dense weight as dtype (F16 or BF16).
[[nodiscard]] HfFolderPlan planFloatExport(const LlamaModel& model, DType dtype);
/// The plan of options.format (one of the planXxxExport above), its report's format set.
[[nodiscard]] HfFolderPlan planHfExport(const LlamaModel& model, const HfExportOptions& options);
/// F16 `weight` (and F16 `bias`) of a module kept in floating point: its dense weight rounded to F16.
[[nodiscard]] std::vector<TensorBlob> f16ModuleTensors(const std::string& name, const Linear& linear);

/// Writes plan's folder for model (read from modelDir: config.json, tokenizer files, the
/// embedding's dtype) to outDir, built as "<outDir>.tmp-<pid>" and renamed; nothing is left on
/// failure or cancel. outDir must not exist or be empty. Returns plan.report with dir, bytes
/// and seconds set. Throws Error naming the file on any failure.
HfExportReport writeHfFolder(const LlamaModel& model, const std::filesystem::path& modelDir, const std::filesystem::path& outDir,
                             const HfFolderPlan& plan, const RunContext* ctx = nullptr);

/// planHfExport + writeHfFolder. Throws Error when the model has no quantized module (for the
/// quantized formats), or as the plan and the writer do.
HfExportReport exportHf(const LlamaModel& model, const std::filesystem::path& modelDir, const std::filesystem::path& outDir,
                        const HfExportOptions& options, const RunContext* ctx = nullptr);

}  // namespace qb::core

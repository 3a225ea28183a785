#pragma once
// Quantized checkpoints: writing a QuantizeResult as a Hugging Face folder and reading it back.
//
// Weight-only modules (rtn, gptq, awq) use the GPTQ layout that transformers, AutoGPTQ and
// vLLM load (qweight, qzeros, scales, g_idx; see gptq_pack.h) with a "quantization_config"
// in config.json (quant_method "gptq", bits, group_size, desc_act, sym, and GPTQModel's
// "dynamic" per-module overrides: "+:<regex>" for other bits/groups, "-:<regex>" for modules
// kept in floating point). W8A8 and LLM.int8() modules use the layout of docs/quantized-format.md
// (int8 "weight" + F32 "weight_scale"). Every module's full scheme is also recorded under
// quantization_config.quantbench.modules so mixed plans reload exactly.

#include <filesystem>
#include <functional>
#include <memory>

#include "core/model/llama_model.h"
#include "core/quant/pipeline.h"
#include "core/quant/plan.h"
#include "core/util/run_context.h"

namespace qb::core {

/// Writes result to outDir: config.json, model.safetensors, tokenizer files copied from
/// sourceDir, quantbench_report.json. Atomic: the folder is built as "<outDir>.tmp-<pid>"
/// and renamed at the end; on failure or cancel nothing is left. Throws Error when outDir
/// exists and is not empty, or on any write failure (naming the file).
void writeQuantizedCheckpoint(const QuantizeResult& result, const QuantPlan& plan, const std::filesystem::path& sourceDir,
                              const std::filesystem::path& outDir, const RunContext& ctx = {});

/// The quantized decoder layer `index`, on demand: the writer asks for each layer twice (its
/// tensors' shapes, then their bytes) and holds one at a time.
using QuantizedLayerSource = std::function<std::shared_ptr<const DecoderLayer>(int index)>;

/// The same for a run that did not keep its layers (QuantizeOptions::keepLayers false): base
/// gives the configuration, embedding, final norm and output head (the float model that was
/// quantized: the run leaves those as they are), layers the quantized decoder layers
/// (QuantizeResumeState::layer), result the reports. The bytes equal those the overload above
/// writes for the same run.
void writeQuantizedCheckpoint(const LlamaModel& base, const QuantizedLayerSource& layers, const QuantizeResult& result,
                              const QuantPlan& plan, const std::filesystem::path& sourceDir, const std::filesystem::path& outDir,
                              const RunContext& ctx = {});

/// Throws Error unless outDir can receive a quantized checkpoint: it does not exist or is an
/// empty folder, and its parent folder exists and is writable. writeQuantizedCheckpoint()
/// checks the same at the end; a caller checks first so that a bad output fails before any
/// work (`quantize --out`).
void checkQuantizedCheckpointOutput(const std::filesystem::path& outDir);

/// A LinearFactory that reads GPTQ-layout modules (QuantizedLinear), int8 modules (W8A8Linear,
/// LlmInt8Linear: int8 codes and scales, no float copy), F16 modules (Fp16Linear, kept in
/// F16) and F32 ones (DenseLinear), using the quantization_config of checkpoint's config.json.
/// Empty for a checkpoint without one (LlamaModel then loads float modules). The metadata is
/// read here, with every value's type checked: a malformed quantization_config throws Error
/// "<origin>: quantization_config.<key> …" (origin names the config.json).
[[nodiscard]] LinearFactory quantizedLinearFactory(const ModelConfig& config, const std::string& origin = "config.json");

/// Opens and loads any checkpoint quantbench writes or reads (float or quantized).
[[nodiscard]] std::shared_ptr<LlamaModel> loadModel(const std::filesystem::path& dir, ModelLoadOptions options = {});

}  // namespace qb::core

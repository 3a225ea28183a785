#pragma once
// GGUF export of a quantbench model for llama.cpp (and Ollama, LM Studio): the metadata keys
// and tensor names llama.cpp's convert_hf_to_gguf.py writes for Llama/Mistral ("llama"),
// Qwen2 ("qwen2") and Qwen3 ("qwen3"), the tokenizer as tokenizer.ggml.*, and every weight
// matrix in one chosen type.
//
// Tensors (HF name → GGUF name; ne = [cols, rows] for a row-major [rows, cols] weight):
//   model.embed_tokens → token_embd        model.norm → output_norm      lm_head → output (untied only)
//   layers.N.input_layernorm → blk.N.attn_norm      post_attention_layernorm → blk.N.ffn_norm
//   self_attn.{q,k,v,o}_proj → blk.N.attn_{q,k,v,output} (+ .bias)   q_norm/k_norm → attn_{q,k}_norm
//   mlp.{gate,up,down}_proj → blk.N.ffn_{gate,up,down}     llama3 rope scaling → rope_freqs [head_dim/2]
// For "llama" the rows of q and k (and their biases) are reordered per head from the
// rotate-half layout to llama.cpp's adjacent-pair RoPE layout (ggufPermuteQk).
// Types: 1-D tensors (norms, biases, rope_freqs) stay F32; a matrix whose row width is not a
// multiple of the type's block stays F16 (Q4_K/Q6_K first try Q5_0/Q8_0, as llama-quantize),
// with a warning in the report.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/export/gguf_types.h"
#include "core/model/llama_model.h"
#include "core/quant/quant_scheme.h"
#include "core/util/run_context.h"

namespace qb::core {

struct GgufExportOptions {
    GgmlType type = GgmlType::F16;  ///< the type of the weight matrices
    std::string name;               ///< general.name; empty = the model folder's name
    /// The output head's type (output.weight, or token_embd.weight when the head is tied to
    /// it), as llama-quantize's --output-tensor-type; empty = ggufOutputType(type).
    std::optional<GgmlType> outputType;
};

struct GgufTensorReport {
    std::string name;               ///< GGUF name
    std::vector<std::uint64_t> ne;  ///< innermost first
    GgmlType type = GgmlType::F32;
    std::uint64_t bytes = 0;
    std::string note;               ///< why the type differs from the one asked for, or how a quantized module was placed; empty otherwise
    std::string source;             ///< the checkpoint module's format ("gptq int4 g32"); empty for float tensors
    bool codesPlaced = false;       ///< the checkpoint's codes were placed on the blocks (no second rounding)
};

struct GgufExportReport {
    std::filesystem::path file;
    std::string architecture;  ///< general.architecture
    GgmlType type = GgmlType::F16;
    std::uint64_t fileBytes = 0;
    double seconds = 0.0;
    std::vector<GgufTensorReport> tensors;
    std::vector<std::string> warnings;  ///< fallbacks, settings llama.cpp cannot represent, tokenizer notes
};

/// general.architecture of a family: "llama" (Llama, Mistral), "qwen2", "qwen3".
[[nodiscard]] std::string ggufArchitectureName(Architecture a);

/// llama.cpp's q/k row order for the "llama" architecture (convert_hf_to_gguf.py's permute,
/// reshape(heads, 2, d/2, cols).swapaxes(1, 2)): within each head of d rows, output row 2b + a
/// is input row a·d/2 + b (a ∈ {0,1}, b < d/2). W: [heads·d, cols] (a bias is [heads·d, 1]).
/// Throws Error if rows is not a multiple of 2·heads.
[[nodiscard]] MatrixRM ggufPermuteQk(const MatrixRM& W, int heads);

/// The rope_freqs factors llama.cpp applies for llama3 rope scaling, one per rotary pair
/// [head_dim/2]: 1 for wavelengths below L/high_freq_factor, `factor` above L/low_freq_factor,
/// smooth in between (L = original_max_position_embeddings, 8192 when not given).
[[nodiscard]] std::vector<float> ggufLlama3RopeFactors(const ModelConfig& config);

/// The GGUF type a [rows, cols] weight gets when `wanted` is asked for, and why it differs
/// (empty note when it does not).
[[nodiscard]] GgmlType ggufMatrixType(GgmlType wanted, std::int64_t cols, std::string& note);

/// The type llama-quantize gives the output head (output.weight, or token_embd.weight when the
/// head is tied to it) when `wanted` is asked for the other matrices: wanted for F32/F16/BF16
/// and Q8_0; otherwise Q6_K, or Q8_0 when cols does not fill blocks of 256 (every logit passes
/// through this matrix; a 4-bit head alone moves a small model's logits by whole units). note
/// says why the type differs from wanted (empty when it does not).
[[nodiscard]] GgmlType ggufOutputType(GgmlType wanted, std::int64_t cols, std::string& note);

/// Whether a quantized module's codes go onto `type`'s blocks unchanged: groups of 32 in column
/// order (no act-order) on a grid the type holds (ggufHoldsGrid). When false, the module is
/// re-quantized from its dequantized weight and the check's max |ΔW| is the extra error.
[[nodiscard]] bool ggufPlacesCodes(GgmlType type, const WeightGridSpec& spec, bool sequentialGroups);

/// What exportGguf would write, without writing: every tensor's type, bytes and note (placed
/// codes, re-quantized modules, F16 fallbacks), the warnings, and fileBytes the exact size of
/// the file. Reads the tokenizer and every layer's module formats. Throws as exportGguf does.
[[nodiscard]] GgufExportReport planGgufExport(const LlamaModel& model, const std::filesystem::path& modelDir, const GgufExportOptions& options);

/// Writes model with the tokenizer of modelDir to file (temp name, then rename): float modules
/// and re-quantized ones from their (dequantized) weights, quantized modules on a matching grid
/// from their codes (ggufPlacesCodes). Progress and cancel through ctx, once per tensor.
/// Throws Error "<file>: <problem>" (or "<modelDir>/<tokenizer file>: <problem>").
GgufExportReport exportGguf(const LlamaModel& model, const std::filesystem::path& modelDir, const std::filesystem::path& file,
                            const GgufExportOptions& options, const RunContext* ctx = nullptr);

}  // namespace qb::core

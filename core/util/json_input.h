#pragma once
// parseJsonInput — the one way quantbench parses JSON it did not write in this process: a
// model's config.json, model.safetensors.index.json, tokenizer.json, tokenizer_config.json, a
// plan file, a safetensors header, the quantization_config of a quantized checkpoint and the
// metadata of a resume state. Each kind has a size bound, and every kind the same nesting bound,
// so a hostile file is refused in one line before it can exhaust memory or, through the
// recursive code that walks, copies, compares and prints nlohmann values, the stack:
//   "tokenizer.json: JSON nested deeper than 64 levels".
//
// Nesting bound: 64. The deepest real files are the Llama 3.1 tokenizer.json (7 levels; Llama
// 2/3 and Qwen 2.5/3 tokenizer.json 5, their tokenizer_config.json 3, a compressed-tensors
// config.json 5); 64 leaves ninefold room and stays far below what a recursive walk of a
// value can take on an 8 MB stack. The depth is counted by nlohmann's own parser through its
// callback (the `depth` argument at each object/array start), in the same single pass that
// builds the value: no second grammar to drift from the parser's, and no measurable cost on
// the 9 MB Llama 3.1 tokenizer.json (BENCHMARKS.md, issue 17).
//
// Core-only: the header includes nlohmann/json, which qbcore links privately.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace qb::core {

/// How many arrays and objects may enclose one another in any outside JSON document.
inline constexpr int kJsonMaxDepth = 64;

/// The bounds of one kind of JSON input. kind names it in the size error ("a config.json").
struct JsonInputLimits {
    const char* kind;
    std::size_t maxBytes;
    int maxDepth = kJsonMaxDepth;
};

// Size bounds per kind, each far above the largest real file of that kind (sizes of the real
// files in the comments).
/// config.json (Llama 3 70B: 0.7 kB; a GPTQModel "dynamic" list or compressed-tensors "ignore"
/// list for every module of a 405B model stays under 1 MB).
inline constexpr JsonInputLimits kConfigJsonLimits{"a config.json", std::size_t(16) << 20};
/// model.safetensors.index.json (Llama 3.1 405B: 0.1 MB; DeepSeek-V3, 91k tensors: 9 MB).
inline constexpr JsonInputLimits kCheckpointIndexLimits{"a safetensors index", std::size_t(64) << 20};
/// tokenizer.json (Qwen3: 11.4 MB; Gemma 3, 262k tokens: 33 MB).
inline constexpr JsonInputLimits kTokenizerJsonLimits{"a tokenizer.json", std::size_t(256) << 20};
/// tokenizer_config.json (Llama 3.1: 51 kB, its chat template; added_tokens_decoder lists of
/// large vocabularies reach a few MB).
inline constexpr JsonInputLimits kTokenizerConfigLimits{"a tokenizer_config.json", std::size_t(64) << 20};
/// A plan file (one rule per module of a 405B model: well under 1 MB).
inline constexpr JsonInputLimits kPlanJsonLimits{"a plan", std::size_t(16) << 20};
/// A safetensors header (the format's own bound, which the file reader also applies).
inline constexpr JsonInputLimits kSafetensorsHeaderLimits{"a safetensors header", std::size_t(100) << 20};
/// A resume state's JSON (fingerprint.json, a layer file's metadata), written by quantbench but
/// read back from disk.
inline constexpr JsonInputLimits kResumeStateJsonLimits{"resume state", std::size_t(64) << 20};

/// The JSON document text, named source in errors (a path, or "quantization_config").
/// Throws Error "<source>: <n> bytes, more than the <m> quantbench reads for <kind>" when text
/// is larger than limits.maxBytes, and Error "<source>: JSON nested deeper than <N> levels"
/// when arrays/objects nest deeper than limits.maxDepth. A syntax error is left to the caller:
/// nlohmann::json::parse_error passes through unchanged, so each reader keeps its wording.
[[nodiscard]] nlohmann::json parseJsonInput(std::string_view text, const std::string& source, const JsonInputLimits& limits);
/// The same, keeping the document's key order.
[[nodiscard]] nlohmann::ordered_json parseOrderedJsonInput(std::string_view text, const std::string& source, const JsonInputLimits& limits);

/// The whole content of file, its size checked against limits before it is read. Throws Error
/// "<file>: cannot read" or the size error above.
[[nodiscard]] std::string readJsonInputText(const std::filesystem::path& file, const JsonInputLimits& limits);

}  // namespace qb::core

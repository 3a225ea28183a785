#pragma once
// The numbers the GGUF format assigns (docs/gguf.md of ggml, gguf-py's constants): tensor
// types (ggml_type), metadata value types and llama.cpp's file-type codes. This is the one
// header the GGUF writer and the GGUF reader share; each has its own block layouts and
// packing code, so a reload by the reader checks the writer independently.

#include <cstdint>
#include <optional>
#include <string>

namespace qb::core {

/// ggml_type: the tensor types quantbench writes and reads (the numbers are the file's).
enum class GgmlType : std::uint32_t {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q4_K = 12,
    Q6_K = 14,
    BF16 = 30,
};

/// gguf_metadata_value_type.
enum class GgufValueType : std::uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
};

/// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class GgufTokenType : std::int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

inline constexpr std::uint32_t kGgufMagic = 0x46554747u;  ///< "GGUF" read as a little-endian u32
inline constexpr std::uint32_t kGgufVersion = 3;
inline constexpr std::uint32_t kGgufDefaultAlignment = 32;
inline constexpr std::uint32_t kGgmlQuantizationVersion = 2;  ///< general.quantization_version

/// "F32", "Q4_0", "Q4_K", ... (the names llama.cpp prints).
[[nodiscard]] std::string ggmlTypeName(GgmlType type);
/// The type a name (case-insensitive) stands for; nullopt for names quantbench does not write.
[[nodiscard]] std::optional<GgmlType> parseGgmlType(const std::string& name);
/// "F32, F16, BF16, Q8_0, ..." for messages and --help.
[[nodiscard]] std::string ggmlTypeNamesText();
/// general.file_type (llama_ftype) of a file whose weight matrices are mostly `type`:
/// F32 0, F16 1, Q4_0 2, Q4_1 3, Q8_0 7, Q5_0 8, Q5_1 9, Q4_K (as Q4_K_M) 15, Q6_K 18, BF16 32.
[[nodiscard]] std::uint32_t ggufFileType(GgmlType type);
/// True for the block-quantized types (general.quantization_version must be written).
[[nodiscard]] bool isQuantizedGgmlType(GgmlType type);

}  // namespace qb::core

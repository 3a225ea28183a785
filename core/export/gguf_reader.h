#pragma once
// GgufReader — an independent reader of GGUF v2/v3 files, written from ggml's docs/gguf.md and
// the block layouts of ggml-common.h; it shares nothing with the writer but the numbers in
// gguf_types.h, so reloading an export through it checks the writer.
//
// The file is memory-mapped; metadata and tensor infos are parsed at open() and every field
// is bounds-checked first: counts and lengths that cannot fit in the rest of the file are
// refused before anything is allocated, as are unknown value or tensor types, arrays nested
// deeper than 4, names over their limits, repeated keys or tensor names, tensors whose data
// lies outside the file, is misaligned or overlaps another. Every problem is one Error line
// "<file>: <problem>".
// Thread-safety: immutable after open(); const methods may run concurrently.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/export/gguf_types.h"
#include "core/util/matrix.h"

namespace qb::core {

/// A metadata value. Integers keep their GGUF type in `type`; arrays hold their elements.
struct GgufValue {
    GgufValueType type = GgufValueType::U8;
    GgufValueType arrayType = GgufValueType::U8;  ///< element type when type == Array
    std::variant<std::uint64_t, std::int64_t, double, bool, std::string, std::vector<GgufValue>> value;

    /// The value as an unsigned integer (any non-negative integer type); nullopt otherwise.
    [[nodiscard]] std::optional<std::uint64_t> asUInt() const;
    /// The value as a double (float or integer types); nullopt otherwise.
    [[nodiscard]] std::optional<double> asNumber() const;
    [[nodiscard]] const std::string* asString() const { return std::get_if<std::string>(&value); }
    [[nodiscard]] const bool* asBool() const { return std::get_if<bool>(&value); }
    [[nodiscard]] const std::vector<GgufValue>* asArray() const { return std::get_if<std::vector<GgufValue>>(&value); }
};

struct GgufTensorInfo {
    std::string name;
    std::vector<std::uint64_t> ne;  ///< innermost first: ne[0] = columns
    GgmlType type = GgmlType::F32;
    std::uint64_t offset = 0;       ///< relative to the tensor data section, as stored
    std::uint64_t fileOffset = 0;   ///< absolute offset in the file
    std::uint64_t bytes = 0;        ///< size of the data
    [[nodiscard]] std::int64_t cols() const { return std::int64_t(ne[0]); }
    /// Product of ne[1..] (1 for a vector).
    [[nodiscard]] std::int64_t rows() const;
};

class GgufReader {
public:
    /// Maps and parses file. Throws Error "<file>: <problem>".
    static std::unique_ptr<GgufReader> open(const std::filesystem::path& file);
    ~GgufReader();
    GgufReader(const GgufReader&) = delete;
    GgufReader& operator=(const GgufReader&) = delete;

    [[nodiscard]] const std::filesystem::path& file() const { return m_file; }
    [[nodiscard]] std::uint32_t version() const { return m_version; }
    [[nodiscard]] std::uint32_t alignment() const { return m_alignment; }
    [[nodiscard]] std::uint64_t fileSize() const { return m_size; }
    /// Offset of the tensor data section in the file.
    [[nodiscard]] std::uint64_t dataOffset() const { return m_dataOffset; }
    /// Key/value pairs in file order.
    [[nodiscard]] const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return m_metadata; }
    [[nodiscard]] const GgufValue* find(const std::string& key) const;
    [[nodiscard]] const std::vector<GgufTensorInfo>& tensors() const { return m_tensors; }
    [[nodiscard]] const GgufTensorInfo* findTensor(const std::string& name) const;
    /// The raw bytes of a tensor (inside the mapping).
    [[nodiscard]] const std::uint8_t* data(const GgufTensorInfo& t) const { return m_base + t.fileOffset; }
    /// The tensor as float [rows(), cols()] row-major. Throws Error naming the tensor when a
    /// value decodes to NaN/Inf.
    [[nodiscard]] MatrixRM dequantize(const GgufTensorInfo& t) const;

private:
    GgufReader() = default;
    void parse();
    std::filesystem::path m_file;
    const std::uint8_t* m_base = nullptr;
    std::uint64_t m_size = 0;
    std::uint32_t m_version = 0;
    std::uint32_t m_alignment = kGgufDefaultAlignment;
    std::uint64_t m_dataOffset = 0;
    std::vector<std::pair<std::string, GgufValue>> m_metadata;
    std::vector<GgufTensorInfo> m_tensors;
};

/// Reader-side block geometry: values per block and bytes per block of a type; nullopt for a
/// type this reader cannot decode.
[[nodiscard]] std::optional<std::pair<int, int>> ggufReadBlockGeometry(GgmlType type);
/// Decodes n values (a multiple of the block size) of type from src into out.
void ggufUnpackRow(GgmlType type, const std::uint8_t* src, std::int64_t n, float* out);

}  // namespace qb::core

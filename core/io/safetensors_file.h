#pragma once
// SafetensorsFile — a memory-mapped, validated .safetensors file.
//
// Format: 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the data section; offsets
// are relative to the data section. open() validates everything before any tensor is used:
// header length within the file, well-formed JSON, known dtype, shape × dtype size equal to
// the byte range, ranges inside the data section and not overlapping. Errors name the file.
// Thread-safety: immutable after open(); tensor data may be read from any thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qb::core {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

[[nodiscard]] std::size_t dtypeSize(DType t);
[[nodiscard]] std::string dtypeName(DType t);  ///< the safetensors spelling: "F32", "BF16", ...

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    const std::byte* data = nullptr;  ///< inside the mapping; valid while the file is open
    std::size_t nbytes = 0;
    std::size_t fileOffset = 0;  ///< absolute offset of the first byte in the file

    [[nodiscard]] std::int64_t numel() const;
    [[nodiscard]] std::string shapeString() const;  ///< "[64, 172]"
};

class SafetensorsFile {
public:
    /// Maps and validates path. Throws Error "<file>: <problem>".
    static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
    [[nodiscard]] const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    [[nodiscard]] const TensorInfo* find(const std::string& name) const;
    [[nodiscard]] const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    [[nodiscard]] std::size_t fileSize() const { return m_size; }
    /// The raw JSON header bytes (for provenance hashes).
    [[nodiscard]] std::string headerText() const;
    /// Tells the kernel the pages of t are no longer needed, so they leave the resident set.
    void release(const TensorInfo& t) const;
    /// The same for bytes [begin, end) of t's data (a tensor copied in pieces).
    void release(const TensorInfo& t, std::size_t begin, std::size_t end) const;

private:
    SafetensorsFile() = default;
    std::filesystem::path m_path;
    const std::byte* m_base = nullptr;
    std::size_t m_size = 0;
    std::size_t m_headerLen = 0;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, std::size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

/// One tensor to write: raw little-endian bytes in the given dtype.
struct TensorBlob {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> bytes;
};

/// Makes a blob from float data converted to dtype (F32, F16 or BF16).
[[nodiscard]] TensorBlob makeFloatBlob(std::string name, std::vector<std::int64_t> shape, const float* data,
                                       DType dtype);

/// Writes tensors (sorted by name, 8-byte aligned data) to path atomically: a temp file in
/// the same folder, then rename. Throws Error naming the file on any failure.
void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorBlob>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace qb::core

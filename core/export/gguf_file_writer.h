#pragma once
// GgufFileWriter — the GGUF v3 container (ggml's docs/gguf.md), independent of any model:
// header, metadata key/value pairs, tensor infos, padding to the alignment, tensor data.
//
//   magic "GGUF" | version u32 = 3 | tensor_count u64 | kv_count u64
//   kv_count × (key: u64 len + bytes | value_type u32 | value)
//   tensor_count × (name | n_dims u32 | ne[n_dims] u64 (ne[0] = innermost) | type u32 | offset u64)
//   zero padding to the alignment | tensor data, each tensor at an aligned offset
//
// Tensor data is produced on demand while writing (one tensor in memory at a time), so a
// multi-GB model streams. Writes go to "<file>.tmp-<pid>" (atomicTempPath, which also removes
// what killed writers of the file left) and are renamed over the file at the end.
// Thread-safety: none (one writer per thread).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/export/gguf_types.h"
#include "core/util/run_context.h"

namespace qb::core {

class GgufFileWriter {
public:
    /// Appends the bytes of one tensor to out (which arrives empty).
    using TensorProducer = std::function<void(std::vector<std::uint8_t>& out)>;

    /// alignment: the data alignment (a multiple of 8); write general.alignment yourself when
    /// it differs from 32 (readers assume 32 otherwise).
    explicit GgufFileWriter(std::uint32_t alignment = kGgufDefaultAlignment);

    // Metadata, in the order added. A key given twice throws Error.
    void addU32(const std::string& key, std::uint32_t v);
    void addI32(const std::string& key, std::int32_t v);
    void addU64(const std::string& key, std::uint64_t v);
    void addF32(const std::string& key, float v);
    void addBool(const std::string& key, bool v);
    void addString(const std::string& key, const std::string& v);
    void addStringArray(const std::string& key, const std::vector<std::string>& v);
    void addF32Array(const std::string& key, const std::vector<float>& v);
    void addI32Array(const std::string& key, const std::vector<std::int32_t>& v);

    /// A tensor named name (≤ 64 bytes) of shape ne (ne[0] innermost: [cols, rows] for a
    /// row-major [rows, cols] matrix), stored as type in exactly `bytes` bytes, which
    /// produce() appends when the data is written. A name given twice throws Error.
    void addTensor(const std::string& name, std::vector<std::uint64_t> ne, GgmlType type, std::uint64_t bytes,
                   TensorProducer produce);

    [[nodiscard]] std::size_t tensorCount() const { return m_tensors.size(); }
    [[nodiscard]] std::size_t keyCount() const { return m_keys.size(); }

    /// The size write() will give the file, in bytes (header, padding and the announced tensor
    /// bytes; no producer is called).
    [[nodiscard]] std::uint64_t fileBytes() const;

    /// Writes the file (temp name, then rename). Calls ctx->progress per tensor and stops with
    /// Cancelled when asked, checked before each tensor and before the rename (the temp file is
    /// removed; nothing appears under file). Throws Error "<file>: <problem>" when the
    /// file cannot be written or a producer delivers the wrong number of bytes.
    /// Returns the file's size in bytes.
    std::uint64_t write(const std::filesystem::path& file, const RunContext* ctx = nullptr) const;

private:
    struct Tensor {
        std::string name;
        std::vector<std::uint64_t> ne;
        GgmlType type;
        std::uint64_t bytes;
        TensorProducer produce;
    };
    void beginKey(const std::string& key, GgufValueType type);
    // The bytes before the tensor data (aligned); dataBytes: the tensor data's, padding included.
    [[nodiscard]] std::vector<std::uint8_t> header(std::uint64_t& dataBytes) const;

    std::uint32_t m_alignment;
    std::vector<std::string> m_keys;
    std::vector<std::uint8_t> m_kv;  // the serialized key/value pairs
    std::vector<Tensor> m_tensors;
};

}  // namespace qb::core

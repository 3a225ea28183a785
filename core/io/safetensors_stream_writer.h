#pragma once
// SafetensorsStreamWriter — writes a .safetensors file whose tensors are known by shape up
// front but whose data arrives in pieces (eval --save-logits: one window of logits at a time,
// never the whole [windows, ctx, vocab] array in memory).
//
// The header is written at construction, the data is appended in declaration order, and
// commit() renames the temp file ("<path>.tmp-<pid>") into place once every byte has arrived.
// A writer destroyed before commit() removes its temp file: no half-written output.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/io/safetensors_file.h"

namespace qb::core {

struct TensorDecl {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
};

class SafetensorsStreamWriter {
public:
    /// Opens the temp file and writes the header. Throws Error naming path when the folder is
    /// missing or unwritable.
    SafetensorsStreamWriter(std::filesystem::path path, std::vector<TensorDecl> tensors,
                            const std::map<std::string, std::string>& metadata = {});
    ~SafetensorsStreamWriter();
    SafetensorsStreamWriter(const SafetensorsStreamWriter&) = delete;
    SafetensorsStreamWriter& operator=(const SafetensorsStreamWriter&) = delete;

    /// Appends raw little-endian bytes; tensors are filled in declaration order.
    void append(const void* data, std::size_t bytes);
    /// Checks that every declared byte was written, then renames into place.
    void commit();

    [[nodiscard]] std::uint64_t expectedBytes() const { return m_expected; }
    [[nodiscard]] std::uint64_t writtenBytes() const { return m_written; }

private:
    std::filesystem::path m_path;
    std::filesystem::path m_tmp;
    std::FILE* m_file = nullptr;
    std::uint64_t m_expected = 0;
    std::uint64_t m_written = 0;
    bool m_committed = false;
};

}  // namespace qb::core

#include "core/io/safetensors_stream_writer.h"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/temp_path.h"

namespace qb::core {

SafetensorsStreamWriter::SafetensorsStreamWriter(std::filesystem::path path, std::vector<TensorDecl> tensors,
                                                 const std::map<std::string, std::string>& metadata)
    : m_path(std::move(path)) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    for (const auto& t : tensors) {
        std::uint64_t n = 1;
        for (auto d : t.shape) {
            if (d < 0) throw Error(m_path.string() + ": tensor '" + t.name + "' has a negative dimension");
            n *= std::uint64_t(d);
        }
        const std::uint64_t bytes = n * dtypeSize(t.dtype);
        header[t.name] = {{"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {m_expected, m_expected + bytes}}};
        m_expected += bytes;
    }
    std::string text = header.dump();
    while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // data section 8-byte aligned
    const auto folder = m_path.has_parent_path() ? m_path.parent_path() : std::filesystem::path(".");
    if (!std::filesystem::is_directory(folder))
        throw Error(m_path.string() + ": folder " + folder.string() + " does not exist");
    m_tmp = atomicTempPath(m_path);
    m_file = std::fopen(m_tmp.c_str(), "wb");
    if (!m_file) throw Error(m_path.string() + ": cannot write (" + std::strerror(errno) + ")");
    const std::uint64_t len = text.size();
    if (std::fwrite(&len, 8, 1, m_file) != 1 || std::fwrite(text.data(), 1, text.size(), m_file) != text.size()) {
        std::fclose(m_file);
        m_file = nullptr;
        std::filesystem::remove(m_tmp);
        throw Error(m_path.string() + ": write failed (disk full?)");
    }
}

SafetensorsStreamWriter::~SafetensorsStreamWriter() {
    if (m_file) std::fclose(m_file);
    if (!m_committed && !m_tmp.empty()) {
        std::error_code ec;
        std::filesystem::remove(m_tmp, ec);
    }
}

void SafetensorsStreamWriter::append(const void* data, std::size_t bytes) {
    if (!m_file) throw Error(m_path.string() + ": the writer is closed");
    if (m_written + bytes > m_expected)
        throw Error(m_path.string() + ": more data than the declared tensors hold (" + std::to_string(m_written + bytes) + " > " +
                    std::to_string(m_expected) + " bytes)");
    if (std::fwrite(data, 1, bytes, m_file) != bytes) throw Error(m_path.string() + ": write failed (disk full?)");
    m_written += bytes;
}

void SafetensorsStreamWriter::commit() {
    if (!m_file) throw Error(m_path.string() + ": the writer is closed");
    if (m_written != m_expected)
        throw Error(m_path.string() + ": " + std::to_string(m_written) + " of " + std::to_string(m_expected) +
                    " declared bytes were written");
    const bool ok = std::fflush(m_file) == 0;
    std::fclose(m_file);
    m_file = nullptr;
    if (!ok) throw Error(m_path.string() + ": write failed (disk full?)");
    std::error_code ec;
    std::filesystem::rename(m_tmp, m_path, ec);
    if (ec) throw Error(m_path.string() + ": cannot rename the finished file into place: " + ec.message());
    m_committed = true;
}

}  // namespace qb::core

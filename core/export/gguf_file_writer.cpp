#include "core/export/gguf_file_writer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/util/error.h"
#include "core/util/temp_path.h"

namespace qb::core {

namespace {

template <class T>
void put(std::vector<std::uint8_t>& out, T v) {
    const std::size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}

void putString(std::vector<std::uint8_t>& out, const std::string& s) {
    put<std::uint64_t>(out, s.size());
    const std::size_t at = out.size();
    out.resize(at + s.size());
    if (!s.empty()) std::memcpy(out.data() + at, s.data(), s.size());
}

std::uint64_t alignUp(std::uint64_t offset, std::uint64_t alignment) {
    return offset + (alignment - offset % alignment) % alignment;
}

}  // namespace

GgufFileWriter::GgufFileWriter(std::uint32_t alignment) : m_alignment(alignment) {
    if (alignment == 0 || alignment % 8 != 0) throw Error("GGUF alignment " + std::to_string(alignment) + " is not a multiple of 8");
}

void GgufFileWriter::beginKey(const std::string& key, GgufValueType type) {
    if (std::find(m_keys.begin(), m_keys.end(), key) != m_keys.end()) throw Error("GGUF key '" + key + "' given twice");
    m_keys.push_back(key);
    putString(m_kv, key);
    put<std::uint32_t>(m_kv, std::uint32_t(type));
}

void GgufFileWriter::addU32(const std::string& key, std::uint32_t v) {
    beginKey(key, GgufValueType::U32);
    put(m_kv, v);
}
void GgufFileWriter::addI32(const std::string& key, std::int32_t v) {
    beginKey(key, GgufValueType::I32);
    put(m_kv, v);
}
void GgufFileWriter::addU64(const std::string& key, std::uint64_t v) {
    beginKey(key, GgufValueType::U64);
    put(m_kv, v);
}
void GgufFileWriter::addF32(const std::string& key, float v) {
    beginKey(key, GgufValueType::F32);
    put(m_kv, v);
}
void GgufFileWriter::addBool(const std::string& key, bool v) {
    beginKey(key, GgufValueType::Bool);
    put<std::uint8_t>(m_kv, v ? 1 : 0);
}
void GgufFileWriter::addString(const std::string& key, const std::string& v) {
    beginKey(key, GgufValueType::String);
    putString(m_kv, v);
}
void GgufFileWriter::addStringArray(const std::string& key, const std::vector<std::string>& v) {
    beginKey(key, GgufValueType::Array);
    put<std::uint32_t>(m_kv, std::uint32_t(GgufValueType::String));
    put<std::uint64_t>(m_kv, v.size());
    for (const auto& s : v) putString(m_kv, s);
}
void GgufFileWriter::addF32Array(const std::string& key, const std::vector<float>& v) {
    beginKey(key, GgufValueType::Array);
    put<std::uint32_t>(m_kv, std::uint32_t(GgufValueType::F32));
    put<std::uint64_t>(m_kv, v.size());
    for (float f : v) put(m_kv, f);
}
void GgufFileWriter::addI32Array(const std::string& key, const std::vector<std::int32_t>& v) {
    beginKey(key, GgufValueType::Array);
    put<std::uint32_t>(m_kv, std::uint32_t(GgufValueType::I32));
    put<std::uint64_t>(m_kv, v.size());
    for (std::int32_t i : v) put(m_kv, i);
}

void GgufFileWriter::addTensor(const std::string& name, std::vector<std::uint64_t> ne, GgmlType type, std::uint64_t bytes,
                               TensorProducer produce) {
    if (name.size() > 64) throw Error("GGUF tensor name '" + name + "' is longer than 64 bytes");
    if (ne.empty() || ne.size() > 4) throw Error("GGUF tensor '" + name + "' must have 1 to 4 dimensions");
    for (const auto& t : m_tensors)
        if (t.name == name) throw Error("GGUF tensor '" + name + "' given twice");
    m_tensors.push_back({name, std::move(ne), type, bytes, std::move(produce)});
}

std::vector<std::uint8_t> GgufFileWriter::header(std::uint64_t& dataBytes) const {
    std::vector<std::uint8_t> head;
    put<std::uint32_t>(head, kGgufMagic);
    put<std::uint32_t>(head, kGgufVersion);
    put<std::uint64_t>(head, m_tensors.size());
    put<std::uint64_t>(head, m_keys.size());
    head.insert(head.end(), m_kv.begin(), m_kv.end());
    std::uint64_t offset = 0;  // relative to the start of the tensor data
    for (const auto& t : m_tensors) {
        putString(head, t.name);
        put<std::uint32_t>(head, std::uint32_t(t.ne.size()));
        for (auto d : t.ne) put<std::uint64_t>(head, d);
        put<std::uint32_t>(head, std::uint32_t(t.type));
        put<std::uint64_t>(head, offset);
        offset = alignUp(offset + t.bytes, m_alignment);
    }
    head.resize(alignUp(head.size(), m_alignment), 0);
    dataBytes = offset;
    return head;
}

std::uint64_t GgufFileWriter::fileBytes() const {
    std::uint64_t data = 0;
    return header(data).size() + data;
}

std::uint64_t GgufFileWriter::write(const std::filesystem::path& file, const RunContext* ctx) const {
    const std::filesystem::path tmp = atomicTempPath(file);  // "<file>.tmp-<pid>"; killed runs' temps swept
    try {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error("cannot create " + tmp.filename().string());
        std::uint64_t offset = 0;  // bytes of the tensor data, padding included
        const std::vector<std::uint8_t> head = header(offset);
        out.write(reinterpret_cast<const char*>(head.data()), std::streamsize(head.size()));
        std::vector<std::uint8_t> data;
        for (std::size_t i = 0; i < m_tensors.size(); ++i) {
            const auto& t = m_tensors[i];
            if (ctx) {
                ctx->throwIfStopped();
                ctx->progress(double(i) / double(m_tensors.size()), "writing " + t.name);
            }
            data.clear();
            t.produce(data);
            if (data.size() != t.bytes)
                throw Error("tensor '" + t.name + "' has " + std::to_string(data.size()) + " bytes, " + std::to_string(t.bytes) +
                            " were announced");
            data.resize(alignUp(data.size(), m_alignment), 0);
            out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
            if (!out) throw Error("cannot write (disk full?)");
        }
        out.flush();
        if (!out) throw Error("cannot write (disk full?)");
        out.close();
        if (ctx) ctx->throwIfStopped();  // a stop during the last tensor: still no file under the final name
        std::error_code ec;
        std::filesystem::rename(tmp, file, ec);
        if (ec) throw Error("cannot rename " + tmp.filename().string() + ": " + ec.message());
        return head.size() + offset;
    } catch (const Cancelled&) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw;
    } catch (const Error& e) {
        std::error_code ec;
        std::filesystem::remove(tmp, ec);
        throw e.withContext(file.string());
    }
}

}  // namespace qb::core

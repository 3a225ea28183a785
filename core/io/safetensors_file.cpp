#include "core/io/safetensors_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/half.h"
#include "core/util/json_input.h"
#include "core/util/temp_path.h"

namespace qb::core {

namespace {

// A header larger than this is not a real checkpoint (the largest real ones are a few MB).
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeEntry {
    const char* name;
    DType type;
    std::size_t size;
};
constexpr DTypeEntry kDTypes[] = {{"F64", DType::F64, 8}, {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
                                  {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
                                  {"I16", DType::I16, 2},  {"I8", DType::I8, 1},   {"U8", DType::U8, 1},
                                  {"BOOL", DType::Bool, 1}};

Error fileError(const std::filesystem::path& path, const std::string& problem) {
    return Error(path.string() + ": " + problem);
}

}  // namespace

std::size_t dtypeSize(DType t) {
    for (const auto& e : kDTypes)
        if (e.type == t) return e.size;
    return 0;
}

std::string dtypeName(DType t) {
    for (const auto& e : kDTypes)
        if (e.type == t) return e.name;
    return "?";
}

std::int64_t TensorInfo::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::string TensorInfo::shapeString() const {
    std::ostringstream os;
    os << '[';
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << ']';
    return os.str();
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
    std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
    f->m_path = path;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw fileError(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw fileError(path, "not a regular file");
    }
    f->m_size = std::size_t(st.st_size);
    if (f->m_size < 8) {
        ::close(fd);
        throw fileError(path, "truncated: " + std::to_string(f->m_size) + " bytes, shorter than the 8-byte header length");
    }
    void* base = ::mmap(nullptr, f->m_size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (base == MAP_FAILED) throw fileError(path, std::string("cannot map: ") + std::strerror(errno));
    f->m_base = static_cast<const std::byte*>(base);

    std::uint64_t headerLen = 0;
    std::memcpy(&headerLen, f->m_base, 8);  // little-endian on every platform we build for
    if (headerLen > kMaxHeaderBytes)
        throw fileError(path, "header length " + std::to_string(headerLen) + " is absurdly large (corrupt file?)");
    if (headerLen > f->m_size - 8)
        throw fileError(path, "header length " + std::to_string(headerLen) + " reaches beyond the end of the file (" +
                                  std::to_string(f->m_size) + " bytes): truncated or not a safetensors file");
    f->m_headerLen = std::size_t(headerLen);

    nlohmann::json header;
    try {
        header = parseJsonInput(std::string_view(reinterpret_cast<const char*>(f->m_base) + 8, std::size_t(headerLen)), path.string(),
                                kSafetensorsHeaderLimits);
    } catch (const nlohmann::json::exception& e) {
        throw fileError(path, std::string("malformed JSON header: ") + e.what());
    }
    if (!header.is_object()) throw fileError(path, "malformed JSON header: not an object");

    const std::size_t dataStart = 8 + f->m_headerLen;
    const std::size_t dataSize = f->m_size - dataStart;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const auto& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw fileError(path, "__metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m)
                if (m.value().is_string()) f->m_metadata[m.key()] = m.value().get<std::string>();
            continue;
        }
        auto bad = [&](const std::string& problem) { return fileError(path, "tensor '" + name + "': " + problem); };
        if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
            throw bad("entry needs dtype, shape and data_offsets");
        if (!v["dtype"].is_string()) throw bad("dtype is not a string");
        const std::string dt = v["dtype"].get<std::string>();
        const DTypeEntry* entry = nullptr;
        for (const auto& e : kDTypes)
            if (dt == e.name) entry = &e;
        if (!entry) throw bad("unknown dtype '" + dt + "'");
        TensorInfo t;
        t.name = name;
        t.dtype = entry->type;
        if (!v["shape"].is_array()) throw bad("shape is not an array");
        std::uint64_t numel = 1;
        for (const auto& d : v["shape"]) {
            if (!d.is_number_integer() || d.get<std::int64_t>() < 0) throw bad("shape holds a non-integer or negative size");
            const auto dim = d.get<std::uint64_t>();
            if (dim != 0 && numel > std::numeric_limits<std::uint64_t>::max() / 16 / dim) throw bad("shape is absurdly large");
            numel *= dim;
            t.shape.push_back(std::int64_t(dim));
        }
        const auto& off = v["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw bad("data_offsets must be two non-negative integers");
        const auto begin = off[0].get<std::uint64_t>();
        const auto end = off[1].get<std::uint64_t>();
        if (end < begin) throw bad("data_offsets end before they begin");
        if (end > dataSize)
            throw bad("lies outside the file (bytes " + std::to_string(begin) + ".." + std::to_string(end) +
                      " of a " + std::to_string(dataSize) + "-byte data section): truncated file?");
        const std::uint64_t expected = numel * entry->size;
        if (end - begin != expected)
            throw bad("shape " + t.shapeString() + " × " + dt + " needs " + std::to_string(expected) + " bytes but data_offsets span " +
                      std::to_string(end - begin));
        t.nbytes = std::size_t(end - begin);
        t.fileOffset = dataStart + std::size_t(begin);
        t.data = f->m_base + t.fileOffset;
        f->m_tensors.push_back(std::move(t));
    }
    // Overlap check: sort byte ranges and compare neighbours.
    std::vector<const TensorInfo*> byOffset;
    for (const auto& t : f->m_tensors) byOffset.push_back(&t);
    std::sort(byOffset.begin(), byOffset.end(), [](auto a, auto b) { return a->fileOffset < b->fileOffset; });
    for (std::size_t i = 1; i < byOffset.size(); ++i) {
        const auto* prev = byOffset[i - 1];
        if (prev->nbytes && byOffset[i]->nbytes && byOffset[i]->fileOffset < prev->fileOffset + prev->nbytes)
            throw fileError(path, "tensors '" + prev->name + "' and '" + byOffset[i]->name + "' overlap");
    }
    std::sort(f->m_tensors.begin(), f->m_tensors.end(), [](const auto& a, const auto& b) { return a.fileOffset < b.fileOffset; });
    for (std::size_t i = 0; i < f->m_tensors.size(); ++i) f->m_index[f->m_tensors[i].name] = i;
    return f;
}

SafetensorsFile::~SafetensorsFile() {
    if (m_base) ::munmap(const_cast<std::byte*>(m_base), m_size);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

std::string SafetensorsFile::headerText() const {
    return std::string(reinterpret_cast<const char*>(m_base) + 8, m_headerLen);
}

void SafetensorsFile::release(const TensorInfo& t) const { release(t, 0, t.nbytes); }

void SafetensorsFile::release(const TensorInfo& t, std::size_t from, std::size_t to) const {
    // madvise needs a page-aligned start; round inwards so neighbours stay untouched enough.
    to = std::min(to, t.nbytes);
    if (from >= to) return;
    const std::size_t page = std::size_t(::sysconf(_SC_PAGESIZE));
    std::size_t begin = (t.fileOffset + from + page - 1) / page * page;
    std::size_t end = (t.fileOffset + to) / page * page;
    if (end > begin) ::madvise(const_cast<std::byte*>(m_base) + begin, end - begin, MADV_DONTNEED);
}

TensorBlob makeFloatBlob(std::string name, std::vector<std::int64_t> shape, const float* data, DType dtype) {
    TensorBlob b;
    b.name = std::move(name);
    b.dtype = dtype;
    b.shape = std::move(shape);
    std::int64_t n = 1;
    for (auto d : b.shape) n *= d;
    b.bytes.resize(std::size_t(n) * dtypeSize(dtype));
    switch (dtype) {
        case DType::F32: std::memcpy(b.bytes.data(), data, b.bytes.size()); break;
        case DType::F16:
            for (std::int64_t i = 0; i < n; ++i) {
                const std::uint16_t h = floatToF16(data[i]);
                std::memcpy(b.bytes.data() + 2 * i, &h, 2);
            }
            break;
        case DType::BF16:
            for (std::int64_t i = 0; i < n; ++i) {
                const std::uint16_t h = floatToBf16(data[i]);
                std::memcpy(b.bytes.data() + 2 * i, &h, 2);
            }
            break;
        default: throw Error("makeFloatBlob: " + dtypeName(dtype) + " is not a float type");
    }
    return b;
}

void writeSafetensors(const std::filesystem::path& path, const std::vector<TensorBlob>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    std::vector<const TensorBlob*> sorted;
    for (const auto& t : tensors) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](auto a, auto b) { return a->name < b->name; });
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::uint64_t offset = 0;
    for (const auto* t : sorted) {
        std::int64_t n = 1;
        for (auto d : t->shape) n *= d;
        if (std::uint64_t(n) * dtypeSize(t->dtype) != t->bytes.size())
            throw fileError(path, "tensor '" + t->name + "' has " + std::to_string(t->bytes.size()) + " bytes for its shape");
        header[t->name] = {{"dtype", dtypeName(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + t->bytes.size()}}};
        offset += t->bytes.size();
    }
    std::string text = header.dump();
    while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // data section 8-byte aligned
    const std::filesystem::path tmp = atomicTempPath(path);
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw fileError(path, "cannot write (" + std::string(std::strerror(errno)) + ")");
        const std::uint64_t len = text.size();
        out.write(reinterpret_cast<const char*>(&len), 8);
        out.write(text.data(), std::streamsize(text.size()));
        for (const auto* t : sorted) out.write(reinterpret_cast<const char*>(t->bytes.data()), std::streamsize(t->bytes.size()));
        out.flush();
        if (!out) {
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw fileError(path, "write failed (disk full?)");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw fileError(path, "cannot rename the finished file into place: " + ec.message());
    }
}

}  // namespace qb::core

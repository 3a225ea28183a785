#include "core/export/gguf_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr int kMaxArrayDepth = 4;
constexpr std::uint64_t kMaxKeyBytes = 65535;
constexpr std::uint64_t kMaxTensorNameBytes = 64;
constexpr std::uint32_t kMaxDims = 4;
constexpr std::uint64_t kMaxArrayLength = std::uint64_t(1) << 24;  // vocabularies are < 2^18
// All array elements of a file together (each costs ~56 bytes parsed): 2^26 is ~3.7 GB at most,
// far above a real vocabulary with its scores, types and merges (~10^6).
constexpr std::uint64_t kMaxArrayElementsPerFile = std::uint64_t(1) << 26;

// A bounds-checked little-endian cursor over [base, base + size).
class Cursor {
public:
    Cursor(const std::uint8_t* base, std::uint64_t size) : m_base(base), m_size(size) {}
    [[nodiscard]] std::uint64_t pos() const { return m_pos; }
    [[nodiscard]] std::uint64_t left() const { return m_size - m_pos; }
    void need(std::uint64_t n, const std::string& what) const {
        if (n > left()) throw Error(what + " runs past the end of the file (at byte " + std::to_string(m_pos) + ")");
    }
    template <class T>
    T get(const std::string& what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, m_base + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    std::string string(std::uint64_t maxBytes, const std::string& what) {
        const auto len = get<std::uint64_t>(what + " length");
        if (len > maxBytes) throw Error(what + " is " + std::to_string(len) + " bytes long (at most " + std::to_string(maxBytes) + ")");
        need(len, what);
        std::string s(reinterpret_cast<const char*>(m_base + m_pos), std::size_t(len));
        m_pos += len;
        return s;
    }

private:
    const std::uint8_t* m_base;
    std::uint64_t m_size;
    std::uint64_t m_pos = 0;
};

// Smallest encoding of a value of type t (to refuse absurd array lengths before allocating).
std::uint64_t minValueBytes(GgufValueType t) {
    switch (t) {
        case GgufValueType::U8:
        case GgufValueType::I8:
        case GgufValueType::Bool: return 1;
        case GgufValueType::U16:
        case GgufValueType::I16: return 2;
        case GgufValueType::U32:
        case GgufValueType::I32:
        case GgufValueType::F32: return 4;
        case GgufValueType::String:
        case GgufValueType::U64:
        case GgufValueType::I64:
        case GgufValueType::F64: return 8;
        case GgufValueType::Array: return 12;
    }
    return 1;
}

GgufValueType valueType(std::uint32_t raw, const std::string& where) {
    if (raw > std::uint32_t(GgufValueType::F64)) throw Error(where + " has unknown value type " + std::to_string(raw));
    return GgufValueType(raw);
}

GgufValue readValue(Cursor& c, GgufValueType type, int depth, const std::string& where, std::uint64_t& elementBudget) {
    GgufValue v;
    v.type = type;
    switch (type) {
        case GgufValueType::U8: v.value = std::uint64_t(c.get<std::uint8_t>(where)); break;
        case GgufValueType::U16: v.value = std::uint64_t(c.get<std::uint16_t>(where)); break;
        case GgufValueType::U32: v.value = std::uint64_t(c.get<std::uint32_t>(where)); break;
        case GgufValueType::U64: v.value = c.get<std::uint64_t>(where); break;
        case GgufValueType::I8: v.value = std::int64_t(c.get<std::int8_t>(where)); break;
        case GgufValueType::I16: v.value = std::int64_t(c.get<std::int16_t>(where)); break;
        case GgufValueType::I32: v.value = std::int64_t(c.get<std::int32_t>(where)); break;
        case GgufValueType::I64: v.value = c.get<std::int64_t>(where); break;
        case GgufValueType::F32: v.value = double(c.get<float>(where)); break;
        case GgufValueType::F64: v.value = c.get<double>(where); break;
        case GgufValueType::Bool: {
            const auto b = c.get<std::uint8_t>(where);
            if (b > 1) throw Error(where + " is a bool of value " + std::to_string(b) + " (0 or 1 expected)");
            v.value = b == 1;
            break;
        }
        case GgufValueType::String: v.value = c.string(c.left(), where); break;
        case GgufValueType::Array: {
            if (depth >= kMaxArrayDepth) throw Error(where + " nests arrays deeper than " + std::to_string(kMaxArrayDepth));
            v.arrayType = valueType(c.get<std::uint32_t>(where + " element type"), where);
            const auto n = c.get<std::uint64_t>(where + " length");
            if (n > c.left() / minValueBytes(v.arrayType))
                throw Error(where + " claims " + std::to_string(n) + " elements, more than the file can hold");
            if (n > kMaxArrayLength)
                throw Error(where + " claims " + std::to_string(n) + " elements (at most " + std::to_string(kMaxArrayLength) + ")");
            if (n > elementBudget) throw Error(where + ": the file's arrays hold more than " + std::to_string(kMaxArrayElementsPerFile) + " elements");
            elementBudget -= n;
            std::vector<GgufValue> items;
            items.reserve(std::size_t(n));
            for (std::uint64_t i = 0; i < n; ++i) items.push_back(readValue(c, v.arrayType, depth + 1, where, elementBudget));
            v.value = std::move(items);
            break;
        }
    }
    return v;
}

std::string inQuotes(const std::string& s) { return "'" + s + "'"; }

}  // namespace

std::optional<std::uint64_t> GgufValue::asUInt() const {
    if (const auto* u = std::get_if<std::uint64_t>(&value)) return *u;
    if (const auto* i = std::get_if<std::int64_t>(&value); i && *i >= 0) return std::uint64_t(*i);
    return std::nullopt;
}

std::optional<double> GgufValue::asNumber() const {
    if (const auto* d = std::get_if<double>(&value)) return *d;
    if (const auto* u = std::get_if<std::uint64_t>(&value)) return double(*u);
    if (const auto* i = std::get_if<std::int64_t>(&value)) return double(*i);
    return std::nullopt;
}

std::int64_t GgufTensorInfo::rows() const {
    std::int64_t r = 1;
    for (std::size_t i = 1; i < ne.size(); ++i) r *= std::int64_t(ne[i]);
    return r;
}

std::unique_ptr<GgufReader> GgufReader::open(const std::filesystem::path& file) {
    std::unique_ptr<GgufReader> r(new GgufReader());
    r->m_file = file;
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(file.string() + ": cannot open");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(file.string() + ": not a regular file");
    }
    r->m_size = std::uint64_t(st.st_size);
    if (r->m_size < 24) {
        ::close(fd);
        throw Error(file.string() + ": too short for a GGUF header (" + std::to_string(r->m_size) + " bytes)");
    }
    void* p = ::mmap(nullptr, std::size_t(r->m_size), PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw Error(file.string() + ": cannot map");
    r->m_base = static_cast<const std::uint8_t*>(p);
    try {
        r->parse();
    } catch (const Error& e) {
        throw e.withContext(file.string());
    }
    return r;
}

GgufReader::~GgufReader() {
    if (m_base) ::munmap(const_cast<std::uint8_t*>(m_base), std::size_t(m_size));
}

void GgufReader::parse() {
    Cursor c(m_base, m_size);
    const auto magic = c.get<std::uint32_t>("magic");
    if (magic != kGgufMagic) throw Error("not a GGUF file (the first bytes are not \"GGUF\")");
    m_version = c.get<std::uint32_t>("version");
    if (m_version == 1) throw Error("GGUF version 1 (32-bit counts) is not supported");
    if (m_version > 0xffff && (m_version >> 24) <= 3) throw Error("a big-endian GGUF file; only little-endian is supported");
    if (m_version != 2 && m_version != 3) throw Error("GGUF version " + std::to_string(m_version) + " is not supported (2 or 3)");
    const auto tensorCount = c.get<std::uint64_t>("tensor count");
    const auto kvCount = c.get<std::uint64_t>("metadata count");
    // A key/value pair takes at least 8 + 1 + 4 + 1 bytes, a tensor info 8 + 1 + 4 + 8 + 4 + 8.
    if (kvCount > c.left() / 14) throw Error("claims " + std::to_string(kvCount) + " metadata pairs, more than the file can hold");
    if (tensorCount > c.left() / 33) throw Error("claims " + std::to_string(tensorCount) + " tensors, more than the file can hold");

    std::set<std::string> keys;
    std::uint64_t elementBudget = kMaxArrayElementsPerFile;
    m_metadata.reserve(std::size_t(kvCount));
    for (std::uint64_t i = 0; i < kvCount; ++i) {
        std::string key = c.string(kMaxKeyBytes, "metadata key " + std::to_string(i));
        if (!keys.insert(key).second) throw Error("metadata key " + inQuotes(key) + " appears twice");
        const auto type = valueType(c.get<std::uint32_t>("metadata " + inQuotes(key)), "metadata " + inQuotes(key));
        GgufValue v = readValue(c, type, 0, "metadata " + inQuotes(key), elementBudget);
        m_metadata.emplace_back(std::move(key), std::move(v));
    }
    if (const GgufValue* a = find("general.alignment")) {
        const auto al = a->asUInt();
        if (a->type != GgufValueType::U32 || !al || *al == 0 || (*al & (*al - 1)) != 0)
            throw Error("general.alignment must be a u32 power of two");
        m_alignment = std::uint32_t(*al);
    }

    std::set<std::string> names;
    m_tensors.reserve(std::size_t(tensorCount));
    for (std::uint64_t i = 0; i < tensorCount; ++i) {
        GgufTensorInfo t;
        t.name = c.string(kMaxTensorNameBytes, "tensor name " + std::to_string(i));
        const std::string where = "tensor " + inQuotes(t.name);
        if (!names.insert(t.name).second) throw Error(where + " appears twice");
        const auto nDims = c.get<std::uint32_t>(where + " dimensions");
        if (nDims == 0 || nDims > kMaxDims) throw Error(where + " has " + std::to_string(nDims) + " dimensions (1 to 4)");
        std::uint64_t count = 1;
        for (std::uint32_t d = 0; d < nDims; ++d) {
            const auto n = c.get<std::uint64_t>(where + " shape");
            if (n == 0 || n > (std::uint64_t(1) << 40) || count > (std::uint64_t(1) << 50) / n)
                throw Error(where + " has an impossible shape");
            count *= n;
            t.ne.push_back(n);
        }
        const auto rawType = c.get<std::uint32_t>(where + " type");
        t.type = GgmlType(rawType);
        const auto geometry = ggufReadBlockGeometry(t.type);
        if (!geometry) throw Error(where + " has tensor type " + std::to_string(rawType) + ", which this reader does not decode");
        if (t.ne[0] % std::uint64_t(geometry->first) != 0)
            throw Error(where + " has " + std::to_string(t.ne[0]) + " columns, not whole " + ggmlTypeName(t.type) + " blocks");
        t.bytes = count / std::uint64_t(geometry->first) * std::uint64_t(geometry->second);
        t.offset = c.get<std::uint64_t>(where + " offset");
        if (t.offset % m_alignment != 0) throw Error(where + " data offset " + std::to_string(t.offset) + " is not aligned");
        m_tensors.push_back(std::move(t));
    }
    m_dataOffset = c.pos() + (m_alignment - c.pos() % m_alignment) % m_alignment;
    if (m_dataOffset > m_size && !m_tensors.empty()) throw Error("the tensor data section starts past the end of the file");
    std::vector<const GgufTensorInfo*> byOffset;
    for (auto& t : m_tensors) {
        if (t.offset > m_size || t.bytes > m_size || m_dataOffset + t.offset > m_size - t.bytes)
            throw Error("tensor " + inQuotes(t.name) + " lies outside the file");
        t.fileOffset = m_dataOffset + t.offset;
        byOffset.push_back(&t);
    }
    std::sort(byOffset.begin(), byOffset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i - 1]->offset + byOffset[i - 1]->bytes > byOffset[i]->offset)
            throw Error("tensors " + inQuotes(byOffset[i - 1]->name) + " and " + inQuotes(byOffset[i]->name) + " overlap");
}

const GgufValue* GgufReader::find(const std::string& key) const {
    for (const auto& [k, v] : m_metadata)
        if (k == key) return &v;
    return nullptr;
}

const GgufTensorInfo* GgufReader::findTensor(const std::string& name) const {
    for (const auto& t : m_tensors)
        if (t.name == name) return &t;
    return nullptr;
}

MatrixRM GgufReader::dequantize(const GgufTensorInfo& t) const {
    MatrixRM out(t.rows(), t.cols());
    const auto geometry = ggufReadBlockGeometry(t.type);
    const std::uint64_t rowBytes = std::uint64_t(t.cols()) / std::uint64_t(geometry->first) * std::uint64_t(geometry->second);
    const std::uint8_t* src = data(t);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < t.rows(); ++r) ggufUnpackRow(t.type, src + std::uint64_t(r) * rowBytes, t.cols(), out.data() + r * t.cols());
    if (!out.allFinite()) throw Error(m_file.string() + ": tensor " + inQuotes(t.name) + " decodes to NaN or Inf");
    return out;
}

}  // namespace qb::core

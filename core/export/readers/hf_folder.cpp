#include "core/export/readers/hf_folder.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/io/checkpoint.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "core/util/json_input.h"

namespace qb::core {

namespace fs = std::filesystem;

std::shared_ptr<const HfFolder> HfFolder::open(const fs::path& dir) {
    auto f = std::shared_ptr<HfFolder>(new HfFolder());
    f->m_dir = dir;
    if (!fs::is_directory(dir)) throw Error(dir.string() + ": no such folder");
    f->m_config = readJsonInputText(dir / "config.json", kConfigJsonLimits);
    nlohmann::json config;
    try {
        config = parseJsonInput(f->m_config, (dir / "config.json").string(), kConfigJsonLimits);
    } catch (const nlohmann::json::exception& e) {
        throw Error((dir / "config.json").string() + ": malformed JSON: " + e.what());
    }
    if (config.contains("quantization_config")) f->m_quantization = config["quantization_config"].dump();
    // The same shard rules as loading a model: plain names from the index, no link out of the folder.
    const std::vector<fs::path> files = checkpointShardPaths(dir);
    for (const auto& p : files) {
        f->m_files.push_back(SafetensorsFile::open(p));
        for (const auto& t : f->m_files.back()->tensors()) f->m_tensors[t.name] = {f->m_files.back().get(), &t};
    }
    return f;
}

std::vector<std::string> HfFolder::names() const {
    std::vector<std::string> v;
    for (const auto& [k, _] : m_tensors) v.push_back(k);
    return v;
}

const TensorInfo* HfFolder::find(const std::string& name) const {
    const auto it = m_tensors.find(name);
    return it == m_tensors.end() ? nullptr : it->second.second;
}

std::string HfFolder::dtypeOf(const std::string& name) const {
    const TensorInfo* t = find(name);
    return t ? dtypeName(t->dtype) : "";
}

const TensorInfo& HfFolder::checked(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const auto it = m_tensors.find(name);
    if (it == m_tensors.end()) throw Error(m_dir.string() + ": tensor '" + name + "' is missing");
    const TensorInfo& t = *it->second.second;
    if (t.shape != shape) {
        TensorInfo want;
        want.shape = shape;
        throw Error(it->second.first->path().string() + ": tensor '" + name + "' has shape " + t.shapeString() + ", the format says " + want.shapeString());
    }
    return t;
}

namespace {
template <class T>
std::vector<T> copyOf(const TensorInfo& t) {
    std::vector<T> v(t.nbytes / sizeof(T));
    std::memcpy(v.data(), t.data, v.size() * sizeof(T));
    return v;
}
}  // namespace

std::vector<std::int32_t> HfFolder::int32s(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const TensorInfo& t = checked(name, shape);
    if (t.dtype != DType::I32) throw Error(m_dir.string() + ": tensor '" + name + "' is " + dtypeName(t.dtype) + ", the format says I32");
    return copyOf<std::int32_t>(t);
}

std::vector<std::int8_t> HfFolder::int8s(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const TensorInfo& t = checked(name, shape);
    if (t.dtype != DType::I8) throw Error(m_dir.string() + ": tensor '" + name + "' is " + dtypeName(t.dtype) + ", the format says I8");
    return copyOf<std::int8_t>(t);
}

std::vector<std::int64_t> HfFolder::integers(const std::string& name, std::int64_t n) const {
    const TensorInfo& t = checked(name, {n});
    if (t.dtype == DType::I64) return copyOf<std::int64_t>(t);
    if (t.dtype == DType::I32) {
        const auto v = copyOf<std::int32_t>(t);
        return {v.begin(), v.end()};
    }
    throw Error(m_dir.string() + ": tensor '" + name + "' is " + dtypeName(t.dtype) + ", expected an integer type");
}

MatrixRM HfFolder::floats(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const TensorInfo& t = checked(name, shape);
    const Index rows = shape.size() == 1 ? 1 : Index(shape[0]);
    const Index cols = rows == 0 ? 0 : Index(t.numel()) / rows;
    MatrixRM m(rows, cols);
    const std::size_t n = std::size_t(t.numel());
    if (t.dtype == DType::F32) std::memcpy(m.data(), t.data, n * 4);
    else if (t.dtype == DType::F16 || t.dtype == DType::BF16) {
        std::vector<std::uint16_t> h(n);
        std::memcpy(h.data(), t.data, n * 2);
        for (std::size_t i = 0; i < n; ++i) m.data()[i] = t.dtype == DType::F16 ? f16ToFloat(h[i]) : bf16ToFloat(h[i]);
    } else
        throw Error(m_dir.string() + ": tensor '" + name + "' is " + dtypeName(t.dtype) + ", expected F32, F16 or BF16");
    return m;
}

}  // namespace qb::core

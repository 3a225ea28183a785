#include "core/io/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/half.h"
#include "core/util/json_input.h"

namespace qb::core {

namespace fs = std::filesystem;

namespace {

// The folder a shard may resolve into: the model folder itself or, for a Hugging Face hub
// snapshot (…/models--org--name/snapshots/<revision>/, whose files are links to ../../blobs/),
// the repository folder that holds those blobs.
fs::path containmentRoot(const fs::path& dir) {
    const fs::path canon = fs::canonical(dir);
    const fs::path parent = canon.parent_path();
    if (parent.filename() == "snapshots" && parent.parent_path().filename().string().rfind("models--", 0) == 0) return parent.parent_path();
    return canon;
}

// A shard that is a link leading outside the model folder is refused: a downloaded folder
// must not make quantbench read (or a later export copy) files elsewhere on the machine.
void refuseEscapingLink(const fs::path& shard, const fs::path& root) {
    const fs::path target = fs::canonical(shard);
    const fs::path rel = target.lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..")
        throw Error(shard.string() + ": a link to " + target.string() + ", outside the model folder; copy the file into the folder");
}

// Pickle checkpoints (pytorch_model.bin, *.pt, *.pth) are never opened: unpickling can run code.
void refusePickles(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string ext = e.path().extension().string();
        if (ext == ".bin" || ext == ".pt" || ext == ".pth" || ext == ".ckpt")
            throw Error(e.path().string() + ": a PyTorch pickle checkpoint, which quantbench never loads (unpickling can run code); "
                        "convert the folder to safetensors (transformers: save_pretrained(..., safe_serialization=True))");
    }
}

}  // namespace

std::vector<fs::path> checkpointShardPaths(const fs::path& dir) {
    const fs::path single = dir / "model.safetensors";
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::exists(index)) {
        if (std::ifstream probe(index); !probe) throw Error(index.string() + ": unreadable");
        nlohmann::json j;
        try {
            j = parseJsonInput(readJsonInputText(index, kCheckpointIndexLimits), index.string(), kCheckpointIndexLimits);
        } catch (const nlohmann::json::exception& e) {
            throw Error(index.string() + ": malformed JSON: " + e.what());
        }
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            throw Error(index.string() + ": no \"weight_map\" object");
        std::set<std::string> names;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it.value().is_string()) throw Error(index.string() + ": weight_map entry '" + it.key() + "' is not a file name");
            const std::string shard = it.value().get<std::string>();
            if (shard.empty() || shard == "." || shard == ".." || shard.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
                throw Error(index.string() + ": shard name '" + shard + "' must be a plain file name");
            names.insert(shard);
        }
        std::vector<fs::path> paths;
        const fs::path root = containmentRoot(dir);
        for (const auto& n : names) {
            if (!fs::exists(dir / n)) throw Error(index.string() + ": names shard '" + n + "', which is missing");
            refuseEscapingLink(dir / n, root);
            paths.push_back(dir / n);
        }
        if (paths.empty()) throw Error(index.string() + ": weight_map is empty");
        return paths;
    }
    if (fs::exists(single)) {
        refuseEscapingLink(single, containmentRoot(dir));
        return {single};
    }
    refusePickles(dir);
    throw Error(dir.string() + ": no model.safetensors (nor model.safetensors.index.json) in the folder");
}

namespace {

void convertToFloat(const TensorInfo& t, float* out, const fs::path& file) {
    const std::size_t n = std::size_t(t.numel());
    switch (t.dtype) {
        case DType::F32: std::memcpy(out, t.data, n * 4); break;
        case DType::F16: {
            const auto* p = reinterpret_cast<const unsigned char*>(t.data);
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = f16ToFloat(h);
            }
            break;
        }
        case DType::BF16: {
            const auto* p = reinterpret_cast<const unsigned char*>(t.data);
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = bf16ToFloat(h);
            }
            break;
        }
        default:
            throw Error(file.string() + ": tensor '" + t.name + "' has dtype " + dtypeName(t.dtype) +
                        ", expected F32, F16 or BF16");
    }
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(out[i]))
            throw Error(file.string() + ": tensor '" + t.name + "' holds a non-finite value (NaN or Inf) at element " +
                        std::to_string(i));
}

}  // namespace

std::shared_ptr<const Checkpoint> Checkpoint::open(const fs::path& dir) {
    if (!fs::exists(dir)) throw Error(dir.string() + ": no such folder");
    if (!fs::is_directory(dir)) throw Error(dir.string() + ": not a folder (expected a Hugging Face model folder)");
    std::shared_ptr<Checkpoint> c(new Checkpoint());
    c->m_dir = dir;
    c->m_config = ModelConfig::fromFile(dir / "config.json");
    for (const auto& p : checkpointShardPaths(dir)) c->m_files.push_back(SafetensorsFile::open(p));
    for (std::size_t f = 0; f < c->m_files.size(); ++f) {
        const auto& ts = c->m_files[f]->tensors();
        for (std::size_t t = 0; t < ts.size(); ++t) c->m_byName.push_back({ts[t].name, {f, t}});
    }
    std::sort(c->m_byName.begin(), c->m_byName.end());
    for (std::size_t i = 1; i < c->m_byName.size(); ++i)
        if (c->m_byName[i].first == c->m_byName[i - 1].first)
            throw Error(c->m_files[c->m_byName[i].second.first]->path().string() + ": tensor '" + c->m_byName[i].first +
                        "' also appears in " + c->m_files[c->m_byName[i - 1].second.first]->path().filename().string());
    return c;
}

const TensorInfo* Checkpoint::find(const std::string& name) const {
    auto it = std::lower_bound(m_byName.begin(), m_byName.end(), name,
                               [](const auto& e, const std::string& n) { return e.first < n; });
    if (it == m_byName.end() || it->first != name) return nullptr;
    return &m_files[it->second.first]->tensors()[it->second.second];
}

fs::path Checkpoint::fileOf(const std::string& name) const {
    auto it = std::lower_bound(m_byName.begin(), m_byName.end(), name,
                               [](const auto& e, const std::string& n) { return e.first < n; });
    if (it == m_byName.end() || it->first != name) {
        return m_files.size() == 1 ? m_files.front()->path() : m_dir;
    }
    return m_files[it->second.first]->path();
}

const TensorInfo& Checkpoint::get(const std::string& name) const {
    const TensorInfo* t = find(name);
    if (!t) {
        const fs::path where = m_files.size() == 1 ? m_files.front()->path() : m_dir / "model.safetensors.index.json";
        throw Error(where.string() + ": tensor '" + name + "' is missing (config.json needs it)");
    }
    return *t;
}

std::vector<const TensorInfo*> Checkpoint::tensors() const {
    std::vector<const TensorInfo*> out;
    for (const auto& f : m_files)
        for (const auto& t : f->tensors()) out.push_back(&t);
    return out;
}

MatrixRM Checkpoint::loadMatrix(const std::string& name, Index rows, Index cols) const {
    const TensorInfo& t = get(name);
    if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols)
        throw Error(fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() +
                    " but config.json implies [" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    MatrixRM m(rows, cols);
    convertToFloat(t, m.data(), fileOf(name));
    return m;
}

VectorF Checkpoint::loadVector(const std::string& name, Index n) const {
    const TensorInfo& t = get(name);
    if (t.shape.size() != 1 || t.shape[0] != n)
        throw Error(fileOf(name).string() + ": tensor '" + name + "' has shape " + t.shapeString() +
                    " but config.json implies [" + std::to_string(n) + "]");
    VectorF v(n);
    convertToFloat(t, v.data(), fileOf(name));
    return v;
}

void Checkpoint::release(const std::string& name) const { release(name, 0, SIZE_MAX); }

void Checkpoint::release(const std::string& name, std::size_t begin, std::size_t end) const {
    auto it = std::lower_bound(m_byName.begin(), m_byName.end(), name,
                               [](const auto& e, const std::string& n) { return e.first < n; });
    if (it == m_byName.end() || it->first != name) return;
    const auto& file = m_files[it->second.first];
    file->release(file->tensors()[it->second.second], begin, end);
}

std::uint64_t Checkpoint::bytesOnDisk() const {
    std::uint64_t n = 0;
    for (const auto& f : m_files) n += f->fileSize();
    return n;
}

}  // namespace qb::core

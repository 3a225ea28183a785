#pragma once
// Checkpoint — a Hugging Face model folder: config.json, model.safetensors or shards named
// by model.safetensors.index.json, and the tokenizer files. Tensors stay memory-mapped; a
// multi-GB checkpoint is never read whole into RAM.
// Thread-safety: immutable after open(); may be shared between threads.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/io/safetensors_file.h"
#include "core/util/matrix.h"

namespace qb::core {

class Checkpoint {
public:
    /// Opens and validates dir. Throws Error naming the file and the problem.
    static std::shared_ptr<const Checkpoint> open(const std::filesystem::path& dir);

    [[nodiscard]] const std::filesystem::path& dir() const { return m_dir; }
    [[nodiscard]] const ModelConfig& config() const { return m_config; }
    [[nodiscard]] const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return m_files; }

    /// The tensor named name, or nullptr.
    [[nodiscard]] const TensorInfo* find(const std::string& name) const;
    /// The tensor named name; throws Error "<file>: tensor 'name' is missing" otherwise.
    [[nodiscard]] const TensorInfo& get(const std::string& name) const;
    /// All tensors, in file order.
    [[nodiscard]] std::vector<const TensorInfo*> tensors() const;
    /// The file that holds tensor name (for messages).
    [[nodiscard]] std::filesystem::path fileOf(const std::string& name) const;

    /// Tensor name as float [rows, cols] (F32/F16/BF16 converted); throws Error if the
    /// shape differs or the dtype is not a float type, or a value is NaN/Inf.
    [[nodiscard]] MatrixRM loadMatrix(const std::string& name, Index rows, Index cols) const;
    /// Tensor name as float [n]; same checks.
    [[nodiscard]] VectorF loadVector(const std::string& name, Index n) const;
    /// Drops the pages of tensor name from the resident set (after it has been converted).
    void release(const std::string& name) const;
    /// The same for bytes [begin, end) of the tensor's data.
    void release(const std::string& name, std::size_t begin, std::size_t end) const;

    /// Total bytes of the safetensors files.
    [[nodiscard]] std::uint64_t bytesOnDisk() const;

private:
    Checkpoint() = default;
    std::filesystem::path m_dir;
    ModelConfig m_config;
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> m_byName;  // sorted: name -> (file, tensor)
};

/// The safetensors files of a Hugging Face folder: the shards model.safetensors.index.json names
/// (plain file names only, each present), else model.safetensors. Throws Error naming the file
/// for a bad index, a link that leaves the folder (a hub snapshot's blobs excepted) and, when
/// neither exists, for pickle checkpoints (never opened) or an empty folder. Shared by every
/// reader of outside folders (Checkpoint::open, check-export's folder reader).
[[nodiscard]] std::vector<std::filesystem::path> checkpointShardPaths(const std::filesystem::path& dir);

}  // namespace qb::core

// Fuzz target: model.safetensors.index.json of a sharded folder. The folder is fixed — the
// llama3_rope family fixture's config.json and its two shards, copied once into the scratch
// folder — and the input is the index; Checkpoint::open resolves the weight_map (plain shard
// names only, no links out, no missing shard) and every tensor is then looked up by name.
#include <filesystem>

#include "core/io/checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
const std::filesystem::path& fixtureFolder() {
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        const fs::path src = fs::path(QB_SOURCE_DIR) / "tests/fixtures/families/llama3_rope";
        const fs::path d = qb::fuzz::scratchDir() / "sharded";
        fs::create_directories(d);
        for (const char* f : {"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
            fs::copy_file(src / f, d / f, fs::copy_options::overwrite_existing);
        return d;
    }();
    return dir;
}
}  // namespace

QB_FUZZ_TARGET(checkpoint_index) {
    const std::filesystem::path dir = fixtureFolder();
    qb::fuzz::scratchFile("sharded/model.safetensors.index.json", bytes);
    const auto ckpt = qb::core::Checkpoint::open(dir);
    std::size_t n = 0;
    for (const qb::core::TensorInfo* t : ckpt->tensors()) {
        if (&ckpt->get(t->name) != t) std::abort();
        n += ckpt->fileOf(t->name).string().size() + t->nbytes;
    }
    n += ckpt->bytesOnDisk();
    volatile std::size_t sink = n;
    (void)sink;
}

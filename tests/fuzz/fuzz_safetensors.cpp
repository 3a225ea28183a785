// Fuzz target: a .safetensors file — the 8-byte header length, the JSON header (dtypes,
// shapes, data_offsets, __metadata__) and the offsets against the file's size. Every tensor
// SafetensorsFile::open accepts is read to its last byte, so an accepted range that leaves the
// mapping shows up as a crash.
#include <cstdint>

#include "core/io/safetensors_file.h"
#include "tests/fuzz/fuzz_support.h"

QB_FUZZ_TARGET(safetensors) {
    const auto file = qb::core::SafetensorsFile::open(qb::fuzz::scratchFile("model.safetensors", bytes));
    std::uint64_t sum = file->headerText().size() + file->metadata().size();
    for (const qb::core::TensorInfo& t : file->tensors()) {
        if (std::size_t(t.numel()) * qb::core::dtypeSize(t.dtype) != t.nbytes) std::abort();
        if (t.fileOffset + t.nbytes > file->fileSize()) std::abort();
        for (std::size_t i = 0; i < t.nbytes; ++i) sum += std::uint64_t(t.data[i]);
        if (file->find(t.name) != &t) std::abort();
        sum += t.shapeString().size();
    }
    volatile std::uint64_t sink = sum;
    (void)sink;
}

// Fuzz target: a GGUF v2/v3 file through the independent reader (check-export's): header,
// metadata (nested arrays), tensor infos, alignment and data offsets. Every tensor of an
// accepted file with a decodable type is dequantized (NaN/Inf refusals are Errors).
#include <filesystem>

#include "core/export/gguf_reader.h"
#include "tests/fuzz/fuzz_support.h"

QB_FUZZ_TARGET(gguf_reader) {
    const auto reader = qb::core::GgufReader::open(qb::fuzz::scratchFile("model.gguf", bytes));
    double sum = double(reader->metadata().size());
    for (const auto& [key, value] : reader->metadata()) {
        if (reader->find(key) == nullptr) std::abort();
        if (const auto n = value.asNumber()) sum += *n;
    }
    for (const qb::core::GgufTensorInfo& t : reader->tensors()) {
        if (t.fileOffset + t.bytes > reader->fileSize()) std::abort();
        if (!qb::core::ggufReadBlockGeometry(t.type)) continue;
        if (t.bytes > (std::uint64_t(1) << 22)) continue;  // a large tensor costs time, not coverage
        sum += double(reader->dequantize(t).sum());
    }
    volatile double sink = sum;
    (void)sink;
}

// Fuzz target: a Hugging Face config.json (ModelConfig::fromJsonText), then everything a
// caller derives from an accepted config without more input: labels and per-layer windows.
#include <cstdlib>

#include "core/io/model_config.h"
#include "tests/fuzz/fuzz_support.h"

QB_FUZZ_TARGET(model_config) {
    const qb::core::ModelConfig c = qb::core::ModelConfig::fromJsonText(bytes, "config.json");
    if (c.hiddenSize <= 0 || c.numLayers <= 0 || c.numHeads <= 0 || c.numKvHeads <= 0 || c.headDim <= 0) std::abort();
    std::size_t n = qb::core::architectureLabel(c.architecture).size() + qb::core::ropeScalingLabel(c.ropeScaling).size();
    for (int layer = 0; layer < c.numLayers && layer < 4096; ++layer) n += std::size_t(c.windowOfLayer(layer));
    volatile std::size_t sink = n;
    (void)sink;
}

#pragma once
// Greedy decoding (argmax at every step), for smoke tests and demos.

#include <vector>

#include "core/model/llama_model.h"

namespace qb::core {

/// Appends up to maxNewTokens argmax tokens to prompt (stopping after eos, if given) and
/// returns the new tokens only. Recomputes the whole prefix each step (no KV cache), so
/// it is meant for short outputs. Throws Error when the prompt is empty.
[[nodiscard]] std::vector<int> generateGreedy(const LlamaModel& model, std::vector<int> prompt, int maxNewTokens,
                                              std::optional<int> eos = std::nullopt);

}  // namespace qb::core

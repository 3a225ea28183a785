#pragma once
// Quantized versions of the bundled model for the Hugging Face export tests, and a module with
// hand-chosen codes for the byte-level fixtures.

#include <memory>
#include <string>

#include "core/model/llama_model.h"
#include "core/quant/pipeline.h"
#include "core/quant/plan.h"
#include "core/quant/quantized_weight.h"

namespace qb::test {

/// The bundled model quantized with planJson on 8 windows × 128 tokens of calib.txt (seed 0).
core::QuantizeResult quantizeBundled(const std::string& planJson);

/// A 64×64 4-bit, groups of 32, asymmetric weight with code[o, c] = (o + c + 1) mod 16,
/// zero[o, g] = (o + g) mod 16 (so output 0 of group 0 has a zero point of 0) and scale
/// 2^−(4 + o mod 3): the first eight codes of row 0 and of column 0 are 1..8, the first eight
/// zero points of group 0 are 0..7.
core::QuantizedWeight handWeight();

/// model with layer 0's q_proj replaced by handWeight() (as RTN).
void putHandWeight(core::LlamaModel& model);

}  // namespace qb::test

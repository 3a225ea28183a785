#pragma once
// Round-to-nearest (RTN) weight quantization: every group of every row gets its own
// min-max (or absmax) grid from its own values, and each weight is rounded to the nearest
// grid point (QuantGrid). No calibration data. The baseline that GPTQ and AWQ improve on.

#include "core/quant/quant_scheme.h"
#include "core/quant/quantized_weight.h"
#include "core/util/matrix.h"

namespace qb::core {

/// Quantizes W [out, in] (row-major) group by group along in_features.
/// Returns codes, F16-exact scales and zeros with sequential gIdx. Thread-safe; parallel
/// over rows. Throws Error on an invalid spec (bits outside 1..8, group size ≤ 0).
[[nodiscard]] QuantizedWeight quantizeRtn(const ConstMatrixRef& W, const WeightGridSpec& spec);

}  // namespace qb::core

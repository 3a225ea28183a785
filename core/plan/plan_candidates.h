#pragma once
// The candidate schemes the plan autopilot chooses from for each module: the allowed methods ×
// bit widths × group sizes, plus fp16, each with its exact size from core's one size formula
// (core/quant/scheme_size.h).
//
// Plans accept bits 2–8 (kSupportedWeightBits: what the packed kernels and the GPTQ
// checkpoint layout hold); other widths are refused here with that reason. The methods are the
// grid methods rtn, gptq and awq; the int8 methods (w8a8, smoothquant, llm_int8) are not
// candidates yet (their cost would need the activation quantization in the forward, and
// llm_int8's size depends on its calibration outliers).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/quant/quant_scheme.h"
#include "core/util/matrix.h"

namespace qb::core {

struct CandidateSpace {
    std::vector<QuantMethod> methods = {QuantMethod::Gptq, QuantMethod::Awq, QuantMethod::Rtn};
    std::vector<int> bits = {2, 3, 4, 8};
    /// Columns per group along in_features; nullopt = one group per output row.
    std::vector<std::optional<int>> groupSizes = {32, 128};
    bool includeFp16 = true;  ///< the module kept in F16 is a candidate too
    bool sym = false;         ///< grid symmetry of every grid candidate
};

struct PlanCandidate {
    QuantScheme scheme;
    std::uint64_t bytes = 0;  ///< schemeBytes(scheme, out, in)
};

/// Throws Error with one line naming the problem: no method, a method that is not rtn, gptq or
/// awq, bits outside 2–8 ("bits 9: plans accept 2–8"), a group size ≤ 0, or an empty list.
void checkCandidateSpace(const CandidateSpace& space);

/// Every candidate for a module [out, in]: method-major, then bits, then group size; fp16 last.
/// Candidates with identical scheme are listed once. Throws as checkCandidateSpace().
[[nodiscard]] std::vector<PlanCandidate> planCandidates(const CandidateSpace& space, Index out, Index in);

/// The bit widths a --bits text selects. A range "1-9" keeps what plans accept (2–8) and lists
/// the rest in leftOut (1, 9) for the caller to say so; a list "2,4,8" must name accepted
/// widths only. Throws Error ("--bits 9: plans accept 2–8") on malformed
/// text, an unaccepted width named in a list, or a selection with no accepted width.
struct BitsSelection {
    std::vector<int> bits;
    std::vector<int> leftOut;
};
[[nodiscard]] BitsSelection parseBitsSelection(const std::string& text);

}  // namespace qb::core

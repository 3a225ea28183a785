#include "core/plan/plan_candidates.h"

#include <algorithm>
#include <cstdlib>

#include "core/quant/plan.h"
#include "core/quant/scheme_size.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

const char* kAcceptedBits = "plans accept 2–8";

bool isGridMethod(QuantMethod m) { return m == QuantMethod::Rtn || m == QuantMethod::Gptq || m == QuantMethod::Awq; }

int parseInt(const std::string& text, const std::string& whole) {
    char* end = nullptr;
    const long v = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || v < 1 || v > 64) throw Error("--bits " + whole + ": '" + text + "' is not a bit width");
    return int(v);
}

}  // namespace

void checkCandidateSpace(const CandidateSpace& space) {
    if (space.methods.empty() && !space.includeFp16) throw Error("candidates: no method");
    if (!space.methods.empty() && (space.bits.empty() || space.groupSizes.empty()))
        throw Error("candidates: no bit width or no group size");
    for (QuantMethod m : space.methods)
        if (!isGridMethod(m)) throw Error("candidates: method " + methodName(m) + " is not one the autopilot plans (rtn, gptq, awq)");
    for (int b : space.bits)
        if (!isSupportedWeightBits(b)) throw Error("candidates: bits " + std::to_string(b) + ": " + kAcceptedBits);
    for (const auto& g : space.groupSizes)
        if (g && *g <= 0) throw Error("candidates: group size " + std::to_string(*g) + " is not positive");
}

std::vector<PlanCandidate> planCandidates(const CandidateSpace& space, Index out, Index in) {
    checkCandidateSpace(space);
    std::vector<PlanCandidate> list;
    auto add = [&](const QuantScheme& s) {
        const std::string key = schemeToJson(s);
        for (const auto& c : list)
            if (schemeToJson(c.scheme) == key) return;
        list.push_back({s, schemeBytes(s, out, in)});
    };
    for (QuantMethod m : space.methods)
        for (int b : space.bits)
            for (const auto& g : space.groupSizes) {
                QuantScheme s;
                s.method = m;
                s.grid = {b, g, space.sym};
                add(s);
            }
    if (space.includeFp16) {
        QuantScheme s;
        s.method = QuantMethod::Fp16;
        add(s);
    }
    return list;
}

BitsSelection parseBitsSelection(const std::string& text) {
    BitsSelection sel;
    std::vector<int> named;
    bool range = false;
    if (const auto dash = text.find('-'); dash != std::string::npos) {
        const int lo = parseInt(text.substr(0, dash), text), hi = parseInt(text.substr(dash + 1), text);
        if (lo > hi) throw Error("--bits " + text + ": the range is empty");
        for (int b = lo; b <= hi; ++b) named.push_back(b);
        range = true;
    } else {
        std::size_t start = 0;
        while (start <= text.size()) {
            const std::size_t comma = std::min(text.find(',', start), text.size());
            named.push_back(parseInt(text.substr(start, comma - start), text));
            start = comma + 1;
        }
    }
    for (int b : named) {
        if (isSupportedWeightBits(b)) {
            if (std::find(sel.bits.begin(), sel.bits.end(), b) == sel.bits.end()) sel.bits.push_back(b);
        } else if (range) {
            sel.leftOut.push_back(b);
        } else {
            throw Error("--bits " + text + ": bits " + std::to_string(b) + ": " + kAcceptedBits);
        }
    }
    if (sel.bits.empty()) throw Error("--bits " + text + ": no accepted width; " + kAcceptedBits);
    return sel;
}

}  // namespace qb::core

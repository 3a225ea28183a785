// Fuzz target: the plan JSON that quantize --plan and the GUI read (QuantPlan::fromJsonText).
// An accepted plan is resolved for every module name of a Llama layer, checked against them,
// and written back and parsed again: its own output must parse to the same schemes.
#include <cstdlib>

#include "core/quant/plan.h"
#include "tests/fuzz/fuzz_support.h"

namespace {
const std::vector<std::string>& moduleNames() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (int layer = 0; layer < 3; ++layer)
            for (const char* m : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                  "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"})
                v.push_back("model.layers." + std::to_string(layer) + "." + m);
        v.push_back("lm_head");
        return v;
    }();
    return names;
}
}  // namespace

QB_FUZZ_TARGET(plan) {
    const qb::core::QuantPlan plan = qb::core::QuantPlan::fromJsonText(bytes, "plan.json");
    std::size_t n = plan.check(moduleNames()).size();
    const qb::core::QuantPlan again = qb::core::QuantPlan::fromJsonText(plan.toJsonText(), "plan.json (written back)");
    for (const std::string& name : moduleNames()) {
        const std::string a = qb::core::schemeToJson(plan.resolve(name));
        if (a != qb::core::schemeToJson(again.resolve(name))) std::abort();
        n += a.size();
    }
    volatile std::size_t sink = n;
    (void)sink;
}

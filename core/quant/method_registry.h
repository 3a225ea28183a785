#pragma once
// The method registry: one entry per quantization method — its plan name, the plan keys it
// reads, and a one-line help — used alike by the CLI's help, the plan parser's messages and
// the GUI's method combo box, so they never disagree.

#include <string>
#include <vector>

#include "core/quant/quant_scheme.h"

namespace qb::core {

struct MethodInfo {
    QuantMethod method;
    std::string name;               ///< as in plan files: "gptq"
    std::string title;              ///< for people: "GPTQ (Frantar et al., 2023)"
    std::vector<std::string> keys;  ///< the plan keys the method reads besides "method"
    std::string help;               ///< one line
    bool weightOnly = false;        ///< integer weight grid (bits, group_size, sym apply)
    bool needsCalibration = false;  ///< reads calibration activations
};

/// Every method, in the order menus show them.
[[nodiscard]] const std::vector<MethodInfo>& methodRegistry();
/// The entry of m (always present).
[[nodiscard]] const MethodInfo& methodInfo(QuantMethod m);
/// "fp16, rtn, gptq, awq, w8a8, smoothquant, llm_int8, omniquant"
[[nodiscard]] std::string methodNameList();
/// A multi-line table of methods and their keys, for --help.
[[nodiscard]] std::string methodHelpText();

}  // namespace qb::core

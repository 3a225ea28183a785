#pragma once
// QuantScheme — what a plan says about one module: method, bits, group size, symmetry and
// method options. The plan file spells group_size -1 for "one group per output row"; the
// parser turns that into an empty std::optional.

#include <optional>
#include <string>

namespace qb::core {

enum class QuantMethod {
    Fp16,         ///< keep the module in floating point
    Rtn,          ///< round-to-nearest, min-max per group
    Gptq,         ///< Frantar et al. 2023
    Awq,          ///< Lin et al. 2023
    W8A8,         ///< per-output-channel int8 weights, per-token dynamic int8 activations
    SmoothQuant,  ///< Xiao et al. 2023: W8A8 after migrating activation scale into the weights
    LlmInt8,      ///< Dettmers et al. 2022: vector-wise int8 with FP outlier columns
    OmniQuant,    ///< Shao et al. 2024: learnable weight clipping trained per decoder layer
};

/// "fp16", "rtn", "gptq", "awq", "w8a8", "smoothquant", "llm_int8", "omniquant"
[[nodiscard]] std::string methodName(QuantMethod m);
/// Parses a method name; nullopt when unknown.
[[nodiscard]] std::optional<QuantMethod> methodFromName(const std::string& name);

/// Bit widths of the integer weight formats: every width from 2 to 8, each held by the packed
/// kernels and the checkpoint's GPTQ bit streams (gptq_pack.h). The one list the plan parser,
/// the plan editor and the size estimate use.
inline constexpr int kSupportedWeightBits[] = {2, 3, 4, 5, 6, 7, 8};
[[nodiscard]] constexpr bool isSupportedWeightBits(int bits) { return bits >= 2 && bits <= 8; }
/// "2–8": the list above in words, for error messages.
inline constexpr const char* kSupportedWeightBitsText = "2–8";

/// Per-token activation widths of W8A8 and SmoothQuant. 8 bits run on the int8 kernels; below 8
/// the activations are simulated (isSimulatedActBits): the same per-token symmetric codes, with
/// nothing stored or computed at the lower width, so a figure for them is a quality figure only.
inline constexpr int kMinActBits = 4;
inline constexpr int kMaxActBits = 8;
[[nodiscard]] constexpr bool isSimulatedActBits(int actBits) { return actBits < 8; }
/// "w8a8", "w8a6 (simulated)": the scheme string every figure of a weight-activation scheme uses.
[[nodiscard]] std::string weightActivationLabel(int weightBits, int actBits);

/// Weight grid of the integer weight formats.
struct WeightGridSpec {
    int bits = 4;                        ///< one of kSupportedWeightBits
    std::optional<int> groupSize = 128;  ///< columns per group along in_features; nullopt = whole row
    bool sym = false;                    ///< symmetric (absmax) instead of asymmetric min-max with zero point
};

struct GptqOptions {
    bool actOrder = false;      ///< process columns by descending diag(H)
    double dampPercent = 0.01;  ///< λ = dampPercent · mean(diag H)
    int blockSize = 128;        ///< lazy-batch block width B
    bool staticGroups = false;  ///< group parameters computed before the sweep, in original column order
};

struct AwqOptions {
    int grid = 20;           ///< α ∈ {0, 1/grid, …, (grid-1)/grid}
    bool clipSearch = true;  ///< search a per-group max-value clipping after scaling
};

struct SmoothQuantOptions {
    double alpha = 0.5;  ///< migration strength
    int actBits = 8;     ///< per-token dynamic activation bits, kMinActBits..kMaxActBits (below 8: simulated)
};

struct LlmInt8Options {
    double threshold = 6.0;  ///< input columns with any |x| ≥ threshold stay in floating point
};

/// OmniQuant's training: learnable weight clipping (LWC) and, for the weight-activation
/// schemes (actBits set: W4A4, W6A6, W4A8 …), the learnable equivalent transformation (LET).
/// lrLwc = 5e-3 is the paper's value (Shao et al. 2024, §4.1); the official main.py defaults
/// --lwc_lr to 1e-2, which its scripts do not override; lrLet = 1e-2 is the (the official
/// --let_lr is 5e-3), letAlpha the official --alpha. augLoss is the official code's --aug_loss (off by default
/// there and here).
/// The most epochs a plan may ask OmniQuant for (the plan parser and the plan editor's box).
inline constexpr int kMaxOmniQuantEpochs = 1000;

struct OmniQuantOptions {
    int epochs = 20;      ///< passes over the calibration windows, one window per AdamW step
    double lrLwc = 5e-3;  ///< AdamW learning rate of the clipping parameters a, b
    bool augLoss = false; ///< add the MSE to the FP layer's output on the quantized inputs (official --aug_loss)
    bool lwc = true;      ///< learn the clipping (the official --lwc); false: plain min–max RTN of W (or of W̃ with LET)
    bool let = true;      ///< learn LET's scales (weight-activation schemes only: QuantScheme::gridActBits)
    double lrLet = 1e-2;  ///< AdamW learning rate of the LET scales (the issue's 1e-2; the official --let_lr is 5e-3)
    double letAlpha = 0.5;  ///< migration strength of the scales' initialisation
};

struct QuantScheme {
    QuantMethod method = QuantMethod::Rtn;
    WeightGridSpec grid;
    GptqOptions gptq;
    AwqOptions awq;
    SmoothQuantOptions smooth;
    LlmInt8Options llmInt8;
    OmniQuantOptions omniquant;
    /// Per-token activation bits of a grid module (rtn, gptq, awq, omniquant; kMinActBits..kMaxActBits,
    /// asymmetric, always simulated: token_quant.h); empty = weight-only. OmniQuant with it trains LET.
    std::optional<int> gridActBits;

    /// "gptq w4 g128 asym act-order", "w8a8", "w8a6 (simulated)", "fp16" — for tables and logs.
    [[nodiscard]] std::string label() const;
};

}  // namespace qb::core

#pragma once
// DecoderLayer — the weights of one Llama-family decoder layer and its forward pass:
//   h   = x + o_proj(Attention(RoPE(q_proj(RMSNorm₁(x))), RoPE(k_proj(·)), v_proj(·)))
//         (Qwen3: RoPE(RMSNorm_q(q)), RoPE(RMSNorm_k(k)) per head; Mistral: sliding window)
//   out = h + down_proj(silu(gate_proj(RMSNorm₂(h))) ⊙ up_proj(RMSNorm₂(h)))
// Activations are row-major [n, hidden] with n = windows × T: the rows of one window are
// contiguous and attention is causal inside each window (positions 0..T-1).

#include <array>
#include <memory>
#include <string>

#include "core/io/model_config.h"
#include "core/model/activation_tap.h"
#include "core/model/linear.h"

namespace qb::core {

/// The seven linear modules of a decoder layer, in the order the forward pass reads them.
enum class ModuleKind { Q, K, V, O, Gate, Up, Down };
inline constexpr std::array<ModuleKind, 7> kAllModuleKinds = {ModuleKind::Q,    ModuleKind::K,  ModuleKind::V,   ModuleKind::O,
                                                              ModuleKind::Gate, ModuleKind::Up, ModuleKind::Down};

/// "self_attn.q_proj", "mlp.down_proj", ...
[[nodiscard]] std::string moduleSuffix(ModuleKind kind);
/// "model.layers.3.self_attn.q_proj"
[[nodiscard]] std::string moduleName(int layer, ModuleKind kind);

struct DecoderLayer {
    int index = 0;
    VectorF inputNorm;          ///< input_layernorm.weight [hidden]
    VectorF postAttentionNorm;  ///< post_attention_layernorm.weight [hidden]
    VectorF qNorm;              ///< self_attn.q_norm.weight [head_dim] (Qwen3); empty otherwise
    VectorF kNorm;              ///< self_attn.k_norm.weight [head_dim] (Qwen3); empty otherwise
    std::array<LinearPtr, 7> linears;  ///< indexed by ModuleKind

    [[nodiscard]] const LinearPtr& linear(ModuleKind k) const { return linears[std::size_t(k)]; }
    [[nodiscard]] LinearPtr& linear(ModuleKind k) { return linears[std::size_t(k)]; }
    [[nodiscard]] std::size_t storageBytes() const;
};

/// Runs layer on hidden [n, hidden] in place. T = window length (n % T == 0). If tap is
/// given, every linear's input is offered to it under its module name.
void runDecoderLayer(const ModelConfig& config, const DecoderLayer& layer, MatrixRM& hidden, Index T,
                     ActivationTap* tap = nullptr);

/// The forward pass in the stages a sequential quantizer (GPTQ's true-sequential order) needs,
/// so that quantizing one group of linears re-runs only what follows it. runDecoderLayer() is
/// exactly attentionMixer(); addAttentionOutput(); runMlpBlock().
///
/// RMSNorm₁(x): the input of q/k/v [n, hidden].
[[nodiscard]] MatrixRM attentionInput(const ModelConfig& config, const DecoderLayer& layer, const ConstMatrixRef& hidden);
/// Attention(RoPE(q), RoPE(k), v) on RMSNorm₁(x): the input of o_proj [n, H·d]. Offers q/k/v and o.
[[nodiscard]] MatrixRM attentionMixer(const ModelConfig& config, const DecoderLayer& layer, const ConstMatrixRef& hidden,
                                      Index T, ActivationTap* tap = nullptr);
/// q, k, v of the attention block from its input xn = RMSNorm₁(x) [n, hidden]: the three
/// projections, Qwen3's per-head q/k RMSNorm, then RoPE (the model's scaling, sequences of T).
void attentionQkv(const ModelConfig& config, const DecoderLayer& layer, const MatrixRM& xn, Index T, MatrixRM& q, MatrixRM& k,
                  MatrixRM& v);
/// hidden += o_proj(attn).
void addAttentionOutput(const DecoderLayer& layer, const ConstMatrixRef& attn, MatrixRM& hidden);
/// RMSNorm₂(h): the input of gate/up [n, hidden].
[[nodiscard]] MatrixRM mlpInput(const ModelConfig& config, const DecoderLayer& layer, const ConstMatrixRef& hidden);
/// silu(gate(RMSNorm₂(h))) ⊙ up(RMSNorm₂(h)): the input of down_proj [n, I]. Offers gate/up.
[[nodiscard]] MatrixRM mlpMixer(const ModelConfig& config, const DecoderLayer& layer, const ConstMatrixRef& hidden,
                                ActivationTap* tap = nullptr);
/// hidden += down_proj(mlpMixer(hidden)). Offers gate/up and down.
void runMlpBlock(const ModelConfig& config, const DecoderLayer& layer, MatrixRM& hidden, ActivationTap* tap = nullptr);

/// RMSNorm over each row: y = x / sqrt(mean(x²) + eps) ⊙ weight.
void rmsNorm(const ConstMatrixRef& x, const VectorF& weight, double eps, MatrixRM& y);

}  // namespace qb::core

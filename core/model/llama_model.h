#pragma once
// LlamaModel — a Llama-family causal LM (Llama, Mistral, Qwen2) on the CPU.
//
// Weights are loaded from a Checkpoint. Small models are held resident; large ones are
// streamed: a decoder layer is converted to float when the forward reaches it and dropped
// after, so peak memory is about one layer plus the activations. A quantizer replaces layers
// with setLayer(); replaced layers stay resident.
// Thread-safety: const methods may run concurrently; setLayer() needs exclusive access.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/model/decoder_layer.h"
#include "core/model/embedding_table.h"
#include "core/util/run_context.h"

namespace qb::core {

/// Builds the Linear of module `name` ("model.layers.0.self_attn.q_proj", shape [out,in])
/// from a checkpoint. Throws Error naming the file and the tensor.
using LinearFactory = std::function<LinearPtr(const Checkpoint& checkpoint, const std::string& name, Index out, Index in)>;

struct ModelLoadOptions {
    /// Hold every layer in memory. Unset: resident when the float32 weights fit in 2 GiB.
    std::optional<bool> resident;
    /// How linear modules are built; empty = makeDenseLinear (float weights). core/quant's
    /// loadModel() passes one that also reads quantized layouts.
    LinearFactory linearFactory;
    /// Leave the output projection unloaded (inspect reads only the decoder layers): saves
    /// vocab × hidden floats (262 MB for a 32k × 2048 model). lmHead(), lmHeadPtr() and
    /// logits() then throw Error.
    bool skipLmHead = false;
};

class LlamaModel {
public:
    /// Loads and validates: every tensor the config needs must exist with the config's shape.
    static std::shared_ptr<LlamaModel> load(std::shared_ptr<const Checkpoint> checkpoint,
                                            const ModelLoadOptions& options = {});
    /// Builds a model from parts (tests, synthetic models, quantized models). layers.size()
    /// must equal config.numLayers. The embedding table is shared, not copied.
    static std::shared_ptr<LlamaModel> fromParts(ModelConfig config, std::shared_ptr<const EmbeddingTable> embedding,
                                                 std::vector<std::shared_ptr<const DecoderLayer>> layers,
                                                 VectorF finalNorm, LinearPtr lmHead /* nullptr when tied */);
    /// The same from a float32 embedding [vocab, hidden].
    static std::shared_ptr<LlamaModel> fromParts(ModelConfig config, MatrixRM embedding,
                                                 std::vector<std::shared_ptr<const DecoderLayer>> layers,
                                                 VectorF finalNorm, LinearPtr lmHead /* nullptr when tied */);

    [[nodiscard]] const ModelConfig& config() const { return m_config; }
    [[nodiscard]] const std::shared_ptr<const Checkpoint>& checkpoint() const { return m_checkpoint; }
    [[nodiscard]] bool resident() const { return m_resident; }

    /// Decoder layer i (loaded from the checkpoint when streaming). Throws Error on bad weights.
    [[nodiscard]] std::shared_ptr<const DecoderLayer> layer(int i) const;
    /// Replaces decoder layer i (e.g. by its quantized version); it stays resident.
    void setLayer(int i, std::shared_ptr<const DecoderLayer> layer);

    /// The token embedding [vocab, hidden], F16 when the checkpoint stores it so.
    [[nodiscard]] const EmbeddingTable& embedding() const { return *m_embedding; }
    [[nodiscard]] const std::shared_ptr<const EmbeddingTable>& embeddingPtr() const { return m_embedding; }
    [[nodiscard]] const VectorF& finalNorm() const { return m_finalNorm; }
    /// The output projection [vocab, hidden]; the embedding when tie_word_embeddings.
    [[nodiscard]] const Linear& lmHead() const { return *lmHeadPtr(); }
    [[nodiscard]] const LinearPtr& lmHeadPtr() const;

    /// Embedding lookup: tokens (n) -> [n, hidden]. Throws Error for an id outside the vocabulary.
    [[nodiscard]] MatrixRM embed(const std::vector<int>& tokens) const;
    /// Runs decoder layer i on hidden [n, hidden] in place (windows of T rows).
    void runLayer(int i, MatrixRM& hidden, Index T, ActivationTap* tap = nullptr) const;
    /// Final RMSNorm and the output projection: hidden [n, hidden] -> logits [n, vocab].
    [[nodiscard]] MatrixRM logits(const ConstMatrixRef& hidden) const;
    /// Hidden states after the last decoder layer, before the final norm: tokens (windows × T) -> [n, hidden].
    [[nodiscard]] MatrixRM forwardHidden(const std::vector<int>& tokens, Index T, ActivationTap* tap = nullptr,
                                         const RunContext* ctx = nullptr) const;
    /// Full forward: tokens (windows × T) -> logits [n, vocab].
    [[nodiscard]] MatrixRM forward(const std::vector<int>& tokens, Index T, ActivationTap* tap = nullptr) const;

    /// Number of parameters (embedding, norms, linears, lm head if untied).
    [[nodiscard]] std::uint64_t parameterCount() const;

private:
    LlamaModel() = default;
    ModelConfig m_config;
    std::shared_ptr<const Checkpoint> m_checkpoint;
    bool m_resident = true;
    std::shared_ptr<const EmbeddingTable> m_embedding;
    VectorF m_finalNorm;
    std::shared_ptr<const Linear> m_lmHead;
    std::vector<std::shared_ptr<const DecoderLayer>> m_layers;  // null entries are streamed
    LinearFactory m_linearFactory;
};

/// Loads decoder layer i from checkpoint (used for streaming); factory builds the linears
/// (empty = makeDenseLinear).
[[nodiscard]] std::shared_ptr<const DecoderLayer> loadDecoderLayer(const Checkpoint& checkpoint, int i,
                                                                   const LinearFactory& factory = {});

/// A DenseLinear from "<name>.weight" [out,in] (+ "<name>.bias" when present), F32/F16/BF16.
/// Throws Error naming file and tensor (missing, wrong shape or dtype, NaN/Inf).
[[nodiscard]] LinearPtr makeDenseLinear(const Checkpoint& checkpoint, const std::string& name, Index out, Index in);

}  // namespace qb::core

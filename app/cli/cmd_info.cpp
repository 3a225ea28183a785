#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"

namespace qb::cli {

int runInfo(const InfoArgs& args) {
    const auto ckpt = core::Checkpoint::open(args.model);
    core::ModelLoadOptions options;
    options.resident = false;   // validates shapes, loads no layer
    options.skipLmHead = true;  // nor the output projection
    const auto model = core::LlamaModel::load(ckpt, options);
    const auto& c = ckpt->config();
    // info describes the checkpoint even when its tokenizer cannot be used (the commands that
    // need one refuse it with this same message).
    std::shared_ptr<const core::Tokenizer> tokenizer;
    std::string tokenizerError;
    try {
        tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    } catch (const core::Error& e) {
        tokenizerError = e.what();
    }
    std::map<std::string, std::uint64_t> dtypeCounts;
    for (const auto* t : ckpt->tensors()) dtypeCounts[core::dtypeName(t->dtype)] += std::uint64_t(t->numel());
    if (args.json) {
        nlohmann::ordered_json j;
        j["model"] = args.model;
        j["architecture"] = c.architectureName;
        j["layers"] = c.numLayers;
        j["hidden_size"] = c.hiddenSize;
        j["intermediate_size"] = c.intermediateSize;
        j["attention_heads"] = c.numHeads;
        j["kv_heads"] = c.numKvHeads;
        j["head_dim"] = c.headDim;
        j["vocab_size"] = c.vocabSize;
        j["max_positions"] = c.maxPositions;
        j["rope_theta"] = c.ropeTheta;
        j["rope_scaling"] = core::ropeScalingLabel(c.ropeScaling);
        j["sliding_window"] = c.slidingWindow;
        if (c.slidingWindow > 0) j["sliding_window_from_layer"] = c.slidingWindowFromLayer;
        j["qk_norm"] = c.qkNorm;
        j["attention_bias"] = c.attentionBias;
        j["tie_word_embeddings"] = c.tieWordEmbeddings;
        if (tokenizer)
            j["tokenizer"] = {{"kind", tokenizer->kindLabel()},
                              {"vocab_size", tokenizer->vocabSize()},
                              {"bos", tokenizer->bos() ? nlohmann::ordered_json(*tokenizer->bos()) : nlohmann::ordered_json()},
                              {"eos", tokenizer->eos() ? nlohmann::ordered_json(*tokenizer->eos()) : nlohmann::ordered_json()},
                              {"adds_bos", tokenizer->addsBos()}};
        else
            j["tokenizer"] = {{"error", tokenizerError}};
        j["parameters"] = model->parameterCount();
        j["dtypes"] = dtypeCounts;
        j["files"] = ckpt->files().size();
        j["bytes_on_disk"] = ckpt->bytesOnDisk();
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("model           %s\n", args.model.c_str());
    std::printf("architecture    %s\n", c.architectureName.c_str());
    std::printf("layers          %d\n", c.numLayers);
    std::printf("hidden size     %d\n", c.hiddenSize);
    std::printf("intermediate    %d\n", c.intermediateSize);
    std::printf("heads           %d query, %d key/value, head dim %d\n", c.numHeads, c.numKvHeads, c.headDim);
    std::printf("vocabulary      %d\n", c.vocabSize);
    std::printf("context         %d positions, rope theta %g\n", c.maxPositions, c.ropeTheta);
    std::printf("rope scaling    %s\n", core::ropeScalingLabel(c.ropeScaling).c_str());
    if (c.slidingWindow > 0)
        std::printf("sliding window  %d tokens, layers %d-%d\n", c.slidingWindow, c.slidingWindowFromLayer, c.numLayers - 1);
    if (c.qkNorm || c.attentionBias)
        std::printf("attention       %s%s%s\n", c.qkNorm ? "q/k RMSNorm per head" : "", c.qkNorm && c.attentionBias ? ", " : "",
                    c.attentionBias ? "q/k/v bias" : "");
    std::printf("tied embeddings %s\n", c.tieWordEmbeddings ? "yes" : "no");
    if (tokenizer)
        std::printf("tokenizer       %s, %d tokens, BOS %s%s, EOS %s\n", tokenizer->kindLabel().c_str(), tokenizer->vocabSize(),
                    tokenizer->bos() ? std::to_string(*tokenizer->bos()).c_str() : "none",
                    tokenizer->bos() ? (tokenizer->addsBos() ? " (added)" : " (not added)") : "",
                    tokenizer->eos() ? std::to_string(*tokenizer->eos()).c_str() : "none");
    else
        std::printf("tokenizer       unusable: %s\n", tokenizerError.c_str());
    std::printf("parameters      %s\n", withThousands(model->parameterCount()).c_str());
    std::string dt;
    for (const auto& [name, n] : dtypeCounts) dt += (dt.empty() ? "" : ", ") + name + " " + withThousands(n);
    std::printf("dtypes          %s\n", dt.c_str());
    std::printf("files           %zu safetensors\n", ckpt->files().size());
    std::printf("bytes on disk   %s (%s bytes)\n", humanBytes(ckpt->bytesOnDisk()).c_str(),
                withThousands(ckpt->bytesOnDisk()).c_str());
    return 0;
}

}  // namespace qb::cli

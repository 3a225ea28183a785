#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors_stream_writer.h"
#include "core/util/sha256.h"
#include "core/model/llama_model.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/text/tokenizer.h"

namespace qb::cli {

int runEval(const EvalArgs& args) {
    const auto model = core::loadModel(args.model);
    const auto& c = model->config();
    const auto tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    const std::string text = core::readTextFile(args.text);
    const auto stream = core::encodeDocuments(*tokenizer, text);
    core::PerplexityOptions options;
    options.ctx = args.ctx;
    options.maxWindows = args.maxWindows;
    options.batchWindows = args.batch;
    // --save-logits: the file's shape is known before the first forward, so it is opened (and a
    // missing folder reported) before any work, then filled one window at a time.
    std::unique_ptr<core::SafetensorsStreamWriter> logitsOut;
    if (!args.saveLogits.empty()) {
        const int windows = core::perplexityWindowCount(stream.size(), options);
        if (windows == 0)
            throw core::Error(args.text + ": the text holds " + std::to_string(stream.size()) +
                              " tokens, fewer than one window of " + std::to_string(args.ctx));
        const std::int64_t W = windows, T = args.ctx, V = c.vocabSize;
        logitsOut = std::make_unique<core::SafetensorsStreamWriter>(
            args.saveLogits,
            std::vector<core::TensorDecl>{{"tokens", core::DType::I32, {W, T}}, {"logits", core::DType::F32, {W, T, V}}},
            std::map<std::string, std::string>{{"format", "quantbench-logits"},
                                               {"model", args.model},
                                               {"text", args.text},
                                               {"text_sha256", core::sha256Hex(text)},
                                               {"ctx", std::to_string(T)},
                                               {"windows", std::to_string(W)},
                                               {"bos", tokenizer->bos() ? "per document" : "none"}});
        for (int w = 0; w < windows; ++w) {
            std::vector<std::int32_t> ids(stream.begin() + std::ptrdiff_t(w) * T, stream.begin() + std::ptrdiff_t(w + 1) * T);
            logitsOut->append(ids.data(), ids.size() * sizeof(std::int32_t));
        }
        options.logitsSink = [&](const std::vector<int>&, const core::MatrixRM& logits) {
            logitsOut->append(logits.data(), std::size_t(logits.size()) * sizeof(float));  // row-major [ctx, vocab]
        };
    }
    const auto r = core::withErrorContext(args.text, [&] {
        return core::evaluatePerplexity(*model, stream, options, terminalContext(args.quiet || args.json));
    });
    if (logitsOut) logitsOut->commit();
    if (args.json) {
        nlohmann::ordered_json j;
        j["model"] = args.model;
        j["text"] = args.text;
        j["perplexity"] = r.perplexity;
        j["loss"] = r.meanLoss;
        j["predictions"] = r.predictions;
        j["tokens_per_second"] = r.tokensPerSecond;
        j["seconds"] = r.seconds;
        j["ctx"] = r.ctx;
        j["windows"] = r.windows;
        j["threads"] = core::threadCount();
        if (!args.saveLogits.empty()) j["logits_file"] = args.saveLogits;
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("perplexity   %.4f\n", r.perplexity);
    std::printf("mean loss    %.4f nats\n", r.meanLoss);
    std::printf("predictions  %s (%d windows of %d tokens)\n", withThousands(std::uint64_t(r.predictions)).c_str(), r.windows,
                r.ctx);
    std::printf("speed        %.0f tokens/s (%d threads)\n", r.tokensPerSecond, core::threadCount());
    std::printf("wall time    %.2f s\n", r.seconds);
    if (!args.saveLogits.empty()) std::printf("logits       %s\n", args.saveLogits.c_str());
    return 0;
}

}  // namespace qb::cli

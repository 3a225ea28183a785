#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/backend/backend.h"
#include "core/calib/calibration.h"
#include "core/eval/perplexity.h"
#include "core/io/checkpoint.h"
#include "core/model/llama_model.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/text/tokenizer.h"

namespace qb::cli {

int runEval(const EvalArgs& args) {
    const auto model = core::loadModel(args.model);
    const auto& c = model->config();
    const auto tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    const auto stream = core::encodeDocuments(*tokenizer, core::readTextFile(args.text));
    core::PerplexityOptions options;
    options.ctx = args.ctx;
    options.maxWindows = args.maxWindows;
    options.batchWindows = args.batch;
    const auto r = core::withErrorContext(args.text, [&] {
        return core::evaluatePerplexity(*model, stream, options, terminalContext(args.quiet || args.json));
    });
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
        std::printf("%s\n", j.dump(2).c_str());
        return 0;
    }
    std::printf("perplexity   %.4f\n", r.perplexity);
    std::printf("mean loss    %.4f nats\n", r.meanLoss);
    std::printf("predictions  %s (%d windows of %d tokens)\n", withThousands(std::uint64_t(r.predictions)).c_str(), r.windows,
                r.ctx);
    std::printf("speed        %.0f tokens/s (%d threads)\n", r.tokensPerSecond, core::threadCount());
    std::printf("wall time    %.2f s\n", r.seconds);
    return 0;
}

}  // namespace qb::cli

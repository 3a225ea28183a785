#include "core/eval/generate.h"

#include "core/util/error.h"

namespace qb::core {

std::vector<int> generateGreedy(const LlamaModel& model, std::vector<int> prompt, int maxNewTokens, std::optional<int> eos) {
    if (prompt.empty()) throw Error("generate: the prompt is empty");
    std::vector<int> out;
    for (int step = 0; step < maxNewTokens && int(prompt.size()) < model.config().maxPositions; ++step) {
        const MatrixRM hidden = model.forwardHidden(prompt, Index(prompt.size()));
        const MatrixRM logits = model.logits(hidden.bottomRows(1));
        Index next = 0;
        logits.row(0).maxCoeff(&next);
        out.push_back(int(next));
        prompt.push_back(int(next));
        if (eos && int(next) == *eos) break;
    }
    return out;
}

}  // namespace qb::core

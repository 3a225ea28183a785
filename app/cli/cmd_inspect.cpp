#include <cstdio>

#include "app/cli/cli_support.h"
#include "app/cli/commands.h"
#include "core/calib/calibration.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/stats/inspect.h"
#include "core/stats/inspect_report.h"
#include "core/store/session_provenance.h"
#include "core/store/session_store.h"
#include "core/text/tokenizer.h"

namespace qb::cli {

int runInspect(const InspectArgs& args) {
    const auto ctx = terminalContext(args.quiet || args.json);
    const StopOnSignal stopOnSignal(ctx);  // Ctrl-C: stop at the next layer, write no session
    const auto model = core::loadModel(args.model);
    const auto& c = model->config();
    const auto tokenizer = core::Tokenizer::load(args.model, c.bosTokenId, c.eosTokenId);
    const std::string text = core::readTextFile(args.calib);
    const auto calibration = core::sampleCalibration(core::encodeDocuments(*tokenizer, text),
                                                     {args.calibWindows, args.calibCtx, args.seed});
    if (calibration.shortened) std::fprintf(stderr, "note: %s: %s\n", args.calib.c_str(), calibration.note.c_str());

    core::InspectOptions options;
    options.computeSensitivity = !args.noSensitivity;
    options.activation.llmInt8Threshold = args.threshold;
    options.activation.relativeFactor = args.relativeFactor;
    const auto result = core::inspectModel(*model, calibration, options, ctx);

    core::SessionData session;
    session.provenance = core::makeSessionProvenance(*model->checkpoint(), text, calibration, args.seed);
    session.modules = result.modules;
    core::SessionStore::write(args.out, session);

    if (args.json) {
        std::fputs(core::formatInspectJson(result.modules).c_str(), stdout);
        return 0;
    }
    std::fputs(core::formatInspectText(result.modules).c_str(), stdout);
    std::printf("\nsession written to %s (%d windows x %d tokens, seed %llu)\n", args.out.c_str(), result.windows, result.ctx,
                static_cast<unsigned long long>(args.seed));
    return 0;
}

}  // namespace qb::cli

#include <cstdio>
#include <vector>

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
    core::ModelLoadOptions loadOptions;
    loadOptions.skipLmHead = true;  // inspect reads the decoder layers only
    const auto model = core::loadModel(args.model, loadOptions);
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

    // Each module goes to the session file as soon as its layer is done; only what the report
    // reads is kept (an unwritable --out fails here, before any work).
    core::SessionWriter session(args.out, core::makeSessionProvenance(*model->checkpoint(), text, calibration, args.seed));
    std::vector<core::ModuleStats> modules;
    core::inspectModel(*model, calibration, options, [&](core::ModuleStats&& m) {
        session.addModule(m);
        modules.push_back(core::reportView(m));
    }, ctx);
    session.commit();

    if (args.json) {
        std::fputs(core::formatInspectJson(modules).c_str(), stdout);
        return 0;
    }
    std::fputs(core::formatInspectText(modules).c_str(), stdout);
    std::printf("\nsession written to %s (%d windows x %d tokens, seed %llu)\n", args.out.c_str(), calibration.windows, calibration.ctx,
                static_cast<unsigned long long>(args.seed));
    return 0;
}

}  // namespace qb::cli

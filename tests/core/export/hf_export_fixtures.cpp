#include "hf_export_fixtures.h"

#include <cmath>

#include "core/calib/calibration.h"
#include "core/model/decoder_layer.h"
#include "core/quant/quantized_weight.h"
#include "core/text/tokenizer.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

namespace qb::test {

core::QuantizeResult quantizeBundled(const std::string& planJson) {
    const auto model = bundledModel();
    const auto tok = core::Tokenizer::load(bundledModelDir(), 1, 2);
    const auto ids = core::encodeDocuments(*tok, core::readTextFile(bundledText("calib.txt")));
    const auto calib = core::sampleCalibration(ids, {.windows = 8, .ctx = 128, .seed = 0});
    return core::quantizeModel(*model, core::QuantPlan::fromJsonText(planJson, "test plan"), calib);
}

core::QuantizedWeight handWeight() {
    core::QuantizedWeight Q = core::QuantizedWeight::allocate(64, 64, {4, 32, false});
    for (core::Index o = 0; o < 64; ++o) {
        for (core::Index c = 0; c < 64; ++c) Q.codes(o, c) = std::uint8_t((o + c + 1) % 16);
        for (core::Index g = 0; g < 2; ++g) {
            Q.zeros(o, g) = std::int32_t((o + g) % 16);
            Q.scales(o, g) = std::ldexp(1.0f, -int(4 + o % 3));
        }
    }
    return Q;
}

void putHandWeight(core::LlamaModel& model) {
    auto layer = std::make_shared<core::DecoderLayer>(*model.layer(0));
    layer->linear(core::ModuleKind::Q) = std::make_shared<core::QuantizedLinear>(handWeight(), std::nullopt, "rtn");
    model.setLayer(0, layer);
}

}  // namespace qb::test

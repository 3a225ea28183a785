#include "ui/ui_test_support.h"

#include <QEventLoop>
#include <QTimer>

#include "core/io/checkpoint.h"
#include "support/test_support.h"

namespace qb::test {

ui::JobState waitForJob(ui::Job* job, int timeoutMs) {
    if (job->isFinished()) return job->state();
    QEventLoop loop;
    QObject::connect(job, &ui::Job::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    return job->state();
}

std::shared_ptr<const core::LlamaModel> outlierInjectedModel(int layer, int channel, float factor) {
    const auto checkpoint = core::Checkpoint::open(bundledModelDir());
    const auto base = core::LlamaModel::load(checkpoint);
    std::vector<std::shared_ptr<const core::DecoderLayer>> layers;
    for (int i = 0; i < base->config().numLayers; ++i) {
        auto copy = std::make_shared<core::DecoderLayer>(*base->layer(i));
        if (i == layer) {
            copy->inputNorm[channel] *= factor;
            for (const auto kind : {core::ModuleKind::Q, core::ModuleKind::K, core::ModuleKind::V}) {
                core::MatrixRM W = copy->linear(kind)->denseWeight();  // [out, in]
                W.col(channel) /= factor;
                copy->linear(kind) = std::make_shared<core::DenseLinear>(std::move(W), copy->linear(kind)->bias());
            }
        }
        layers.push_back(std::move(copy));
    }
    const auto& c = base->config();
    return core::LlamaModel::fromParts(c, base->embeddingPtr(), std::move(layers), base->finalNorm(), nullptr);
}

}  // namespace qb::test

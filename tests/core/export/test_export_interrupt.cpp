// A stop requested through the RunContext (Ctrl-C in the CLI, Cancel in the workbench) ends
// exportAndCheck with core::Cancelled at the next tensor (GGUF) or layer (Hugging Face folder),
// even during the last one, and leaves neither the output nor a temp beside it. The stop is
// requested from the progress callback at a known stage, so nothing depends on timing.
#include <QtTest>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/export/export_run.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

// A context that requests its own stop when a stage starting with `stage` reports progress.
struct StopAt {
    explicit StopAt(std::string stage)
        : ctx([this](double, std::string_view s) {
              if (s.substr(0, m_stage.size()) == m_stage) ctx.requestStop();
          },
              nullptr),
          m_stage(std::move(stage)) {}
    core::RunContext ctx;
    std::string m_stage;
};

core::ExportRunOptions options(const std::string& format, const fs::path& out) {
    core::ExportRunOptions o;
    o.target.format = format;
    if (format == "gguf") o.target.ggufType = core::GgmlType::Q4_0;
    o.out = out;
    return o;
}

using test::namesIn;

}  // namespace

class TestExportInterrupt : public QObject {
    Q_OBJECT

private slots:
    void aStopDuringTheLastGgufTensorLeavesNoFile() {
        const fs::path dir = test::freshScratchDir("export_interrupt_gguf");
        const auto model = core::loadModel(test::bundledModelDir());
        StopAt stop("writing output_norm.weight");  // the last tensor of the bundled (tied-head) model
        QVERIFY_THROWS_EXCEPTION(core::Cancelled,
                                 (void)core::exportAndCheck(*model, test::bundledModelDir(), options("gguf", dir / "m.gguf"), &stop.ctx));
        QCOMPARE(namesIn(dir), QStringList());
    }

    void aStopBetweenLayersLeavesNoHuggingFaceFolder() {
        const fs::path dir = test::freshScratchDir("export_interrupt_hf");
        const auto model = core::loadModel(test::bundledModelDir());
        StopAt stop("export layer 1");
        QVERIFY_THROWS_EXCEPTION(core::Cancelled,
                                 (void)core::exportAndCheck(*model, test::bundledModelDir(), options("f16", dir / "m-f16"), &stop.ctx));
        QCOMPARE(namesIn(dir), QStringList());
    }

    void withoutAStopTheSameExportsFinish() {
        const fs::path dir = test::freshScratchDir("export_interrupt_none");
        const auto model = core::loadModel(test::bundledModelDir());
        StopAt never("no such stage");
        QVERIFY(core::exportAndCheck(*model, test::bundledModelDir(), options("gguf", dir / "m.gguf"), &never.ctx).ok());
        QVERIFY(core::exportAndCheck(*model, test::bundledModelDir(), options("f16", dir / "m-f16"), &never.ctx).ok());
        QCOMPARE(namesIn(dir), (QStringList{"m-f16", "m.gguf"}));
    }
};

QTEST_GUILESS_MAIN(TestExportInterrupt)
#include "test_export_interrupt.moc"

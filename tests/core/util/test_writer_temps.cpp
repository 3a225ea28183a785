// Every atomic writer names its temp "<target>.tmp-<pid>" (core/util/temp_path.h) and, before it
// writes, removes the temps killed runs of the same target left: the GGUF file writer, the
// Hugging Face folder writer (gptq, awq, compressed-tensors, f16, bf16 share it) and the plan
// file `quantbench-cli plan` writes.
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/export/gguf_writer.h"
#include "core/export/hf_export.h"
#include "core/quant/plan.h"
#include "core/quant/quantized_checkpoint.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace qb;

namespace {

// A pid above Linux's PID_MAX_LIMIT (2^22): no process has it, now or later.
constexpr long kDeadPid = (1L << 22) + 17;

// What a killed writer of target left: its partial file, or its half-built folder.
fs::path staleFile(const fs::path& target) {
    const fs::path p = target.string() + ".tmp-" + std::to_string(kDeadPid);
    std::ofstream(p) << "partial";
    return p;
}
fs::path staleFolder(const fs::path& target) {
    const fs::path p = target.string() + ".tmp-" + std::to_string(kDeadPid);
    fs::create_directories(p);
    std::ofstream(p / "model.safetensors") << "partial";
    return p;
}

using test::namesIn;

}  // namespace

class TestWriterTemps : public QObject {
    Q_OBJECT

private slots:
    void theGgufWriterRemovesAKilledRunsTemp() {
        const fs::path dir = test::freshScratchDir("writer_temps_gguf");
        const fs::path file = dir / "m.gguf";
        const fs::path stale = staleFile(file);
        const auto model = core::loadModel(test::bundledModelDir());
        (void)core::exportGguf(*model, test::bundledModelDir(), file, {});
        QVERIFY(!fs::exists(stale));
        QCOMPARE(namesIn(dir), QStringList{"m.gguf"});
    }

    void theHuggingFaceFolderWriterRemovesAKilledRunsTemp() {
        const fs::path dir = test::freshScratchDir("writer_temps_hf");
        const fs::path out = dir / "m-f16";
        const fs::path stale = staleFolder(out);
        const auto model = core::loadModel(test::bundledModelDir());
        (void)core::exportHf(*model, test::bundledModelDir(), out, {.format = core::HfExportFormat::Float16, .gptqZeros = {}});
        QVERIFY(!fs::exists(stale));
        QCOMPARE(namesIn(dir), QStringList{"m-f16"});
        QVERIFY(fs::exists(out / "model.safetensors"));
    }

    void thePlanWriterRemovesAKilledRunsTemp() {
        const fs::path dir = test::freshScratchDir("writer_temps_plan");
        const fs::path file = dir / "plan.json";
        const fs::path stale = staleFile(file);
        const auto plan = core::QuantPlan::fromJsonText("{\"default\": {\"method\": \"rtn\", \"bits\": 4}}", "plan");
        plan.saveFile(file);
        QVERIFY(!fs::exists(stale));
        QCOMPARE(namesIn(dir), QStringList{"plan.json"});
        QCOMPARE(core::QuantPlan::fromFile(file).defaultScheme.grid.bits, 4);
    }
};

QTEST_GUILESS_MAIN(TestWriterTemps)
#include "test_writer_temps.moc"

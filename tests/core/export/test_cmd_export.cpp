// quantbench-cli export / check-export through their functions (runExport, runCheckExport):
// exit codes, the file or folder written and reloaded, a tampered file refused, bad arguments
// refused with one line naming what is wrong.
#include <QtTest>

#include <fstream>

#include "app/cli/cmd_export.h"
#include "core/export/gguf_reader.h"
#include "core/quant/quantized_checkpoint.h"
#include "hf_export_fixtures.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb;

class TestCmdExport : public QObject {
    Q_OBJECT
private slots:
    void exportWritesACheckedFileAndCheckExportPasses() {
        const auto out = test::freshScratchDir("cmd-export") / "stories-q8.gguf";
        cli::ExportArgs a;
        a.model = test::bundledModelDir().string();
        a.type = "q8_0";
        a.out = out.string();
        a.text = test::bundledText("eval.txt").string();
        a.quiet = true;
        QCOMPARE(cli::runExport(a), 0);
        QVERIFY(std::filesystem::exists(out));
        QCOMPARE(core::GgufReader::open(out)->findTensor("blk.0.attn_q.weight")->type, core::GgmlType::Q8_0);

        cli::CheckExportArgs c;
        c.file = out.string();
        c.model = a.model;
        c.windows = 2;
        c.ctx = 32;
        c.quiet = true;
        QCOMPARE(cli::runCheckExport(c), 0);
        c.text = a.text;
        c.json = true;
        QCOMPARE(cli::runCheckExport(c), 0);

        // One byte of blk.1.attn_v changed: check-export exits 1.
        const std::uint64_t at = core::GgufReader::open(out)->findTensor("blk.1.attn_v.weight")->fileOffset + 34 * 2 + 10;
        {
            std::fstream f(out, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(std::streamoff(at));
            const char garbage = 0x7f;
            f.write(&garbage, 1);
        }
        c.json = false;
        QCOMPARE(cli::runCheckExport(c), 1);
    }

    // --output-type: the tied head (token_embd) takes the type asked, the layers --type, and the
    // summary and the checked file agree; without it llama-quantize's rule gives Q8_0 here (64
    // columns do not fill Q6_K's 256-blocks).
    void outputTypeChoosesTheHeadsType() {
        const auto dir = test::freshScratchDir("cmd-export-output-type");
        cli::ExportArgs a;
        a.model = test::bundledModelDir().string();
        a.type = "q4_0";
        a.outputType = "f16";
        a.out = (dir / "head-f16.gguf").string();
        a.quiet = true;
        QCOMPARE(cli::runExport(a), 0);
        auto r = core::GgufReader::open(a.out);
        QCOMPARE(r->findTensor("token_embd.weight")->type, core::GgmlType::F16);
        QCOMPARE(r->findTensor("blk.0.attn_q.weight")->type, core::GgmlType::Q4_0);

        a.outputType.clear();
        a.out = (dir / "head-default.gguf").string();
        QCOMPARE(cli::runExport(a), 0);
        QCOMPARE(core::GgufReader::open(a.out)->findTensor("token_embd.weight")->type, core::GgmlType::Q8_0);

        a.outputType = "q3_k";
        try {
            (void)cli::runExport(a);
            QFAIL("--output-type q3_k was accepted");
        } catch (const core::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).startsWith("--output-type q3_k: not a GGUF type"), e.what());
        }
        a.outputType = "f16";
        a.format = "gptq";
        QVERIFY_THROWS_EXCEPTION(core::Error, cli::checkExportArgs(a));
    }

    // A quantized checkpoint to a GPTQ folder, checked on the way; check-export reads the folder.
    void exportGptqFolderAndCheckIt() {
        const auto dir = test::freshScratchDir("cmd-export-hf");
        std::ofstream(dir / "plan.json") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
        const auto model = test::bundledModelDir();
        cli::ExportArgs a;
        a.model = model.string();
        a.format = "awq";
        a.out = (dir / "awq").string();
        a.quiet = true;
        // A float model has nothing to pack: refused, nothing written.
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)cli::runExport(a));
        QVERIFY(!std::filesystem::exists(dir / "awq"));
        a.checkpointFormat = "gptq";
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)cli::runExport(a));  // --checkpoint-format is GPTQ's
    }
    void checkExportReadsAFolder() {
        const auto dir = test::freshScratchDir("cmd-check-hf");
        const std::string plan = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
        core::writeQuantizedCheckpoint(test::quantizeBundled(plan), core::QuantPlan::fromJsonText(plan, "plan"), test::bundledModelDir(), dir / "q");
        cli::ExportArgs a;
        a.model = (dir / "q").string();
        a.format = "gptq";
        a.out = (dir / "gptq").string();
        a.quiet = true;
        QCOMPARE(cli::runExport(a), 0);
        QVERIFY(std::filesystem::exists(dir / "gptq" / "model.safetensors"));
        cli::CheckExportArgs c;
        c.file = a.out;
        c.model = a.model;
        c.windows = 2;
        c.ctx = 32;
        c.quiet = true;
        c.json = true;
        QCOMPARE(cli::runCheckExport(c), 0);
        a.out = (dir / "gptq").string();  // exists and is not empty: refused before any work
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)cli::runExport(a));
    }

    void badArgumentsAreOneLineErrors() {
        cli::ExportArgs a;
        a.model = test::bundledModelDir().string();
        a.out = (test::freshScratchDir("cmd-export-bad") / "m.gguf").string();
        a.quiet = true;
        a.type = "Q3_K";
        try {
            (void)cli::runExport(a);
            QFAIL("accepted Q3_K");
        } catch (const core::Error& e) {
            QVERIFY2(QString(e.what()).contains("--type Q3_K") && QString(e.what()).contains("Q4_K"), e.what());
        }
        a.type = "F16";
        a.format = "gptq";
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)cli::runExport(a));
        a.format = "gguf";
        a.out = "/no/such/folder/m.gguf";
        try {
            (void)cli::runExport(a);
            QFAIL("accepted a missing folder");
        } catch (const core::Error& e) {
            QVERIFY2(QString(e.what()).startsWith("/no/such/folder/m.gguf: "), e.what());
        }
        cli::CheckExportArgs c;
        c.file = (test::freshScratchDir("cmd-export-none") / "none.gguf").string();
        c.model = a.model;
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)cli::runCheckExport(c));
    }
};

QTEST_GUILESS_MAIN(TestCmdExport)
#include "test_cmd_export.moc"

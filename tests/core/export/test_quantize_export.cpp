// quantize --export (runQuantize → runExport), the export's compatibility summary
// (summarizeExport) and GGUF without a second rounding: a checkpoint's grid codes placed on
// Q4_1 / Q4_0 / Q8_0 blocks, read back from the file's bytes as the GGUF specification lays
// them out (block_q4_1: F16 d, F16 m, 16 bytes of nibbles, value j low / j+16 high).
#include <QtTest>

#include <fstream>

#include "app/cli/cmd_export.h"
#include "app/cli/commands.h"
#include "core/export/export_summary.h"
#include "core/export/gguf_check.h"
#include "core/export/gguf_pack.h"
#include "core/export/gguf_reader.h"
#include "core/export/gguf_writer.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/quant/quantized_weight.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "core/util/half.h"
#include "hf_export_fixtures.h"
#include "support/test_support.h"

using namespace qb;

namespace {

const std::string kRtn4g32 = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";

// The nibble of value j of a 32-value block's 16 bytes (GGUF: low nibble j, high nibble j + 16).
int nibble(const std::uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; }

std::uint16_t u16(const std::uint8_t* p) { return std::uint16_t(p[0] | (p[1] << 8)); }

// The checkpoint row written as file row r of a q/k tensor (llama.cpp's RoPE order, heads of d rows).
core::Index sourceRow(core::Index r, core::Index d) {
    const core::Index h = r / d, i = r % d, b = i / 2, a = i % 2;
    return h * d + a * (d / 2) + b;
}

// windows × ctx ids of the bundled eval text.
std::vector<int> evalTokens(int windows, int ctx) {
    auto ids = core::encodeDocuments(*core::Tokenizer::load(test::bundledModelDir()), core::readTextFile(test::bundledText("eval.txt")));
    ids.resize(std::size_t(windows * ctx));
    return ids;
}

// max |Δlogit| / max |ΔW| of a GGUF file against the model it came from, checked on `tokens`.
struct LogitSensitivity {
    double maxDw = 0.0, maxDlogit = 0.0, top1 = 0.0;
    [[nodiscard]] double perWeight() const { return maxDlogit / maxDw; }
};
LogitSensitivity sensitivity(const core::GgufCheckReport& c) {
    LogitSensitivity s;
    for (const auto& t : c.tensors) s.maxDw = std::max(s.maxDw, t.maxAbsDiff);
    s.maxDlogit = c.logits ? c.logits->maxAbsDiff : 0.0;
    s.top1 = c.logits ? c.logits->top1Agreement : 0.0;
    return s;
}

// How much more than the F16 file's logits a placed file's may move per unit of max |ΔW|.
// Measured on the bundled RTN int4 g32 checkpoint over 4 x 64 eval tokens: F16 32.5, BF16 30,
// Q8_0 43, Q4_1 with placed codes 49 (1.5x F16); a factor 3 leaves room for other compilers' sums.
constexpr double kPerWeightOverF16 = 3.0;

}  // namespace

class TestQuantizeExport : public QObject {
    Q_OBJECT
private slots:
    // The hand-made weight (zero points 0..15, codes 0..15) on layer 0's q_proj: Q4_1 holds its
    // codes as they are, d = scale, m = F16(−scale·zero); byte for byte from the file.
    void ggufQ4_1HoldsTheCheckpointsCodes() {
        auto result = test::quantizeBundled(kRtn4g32);
        test::putHandWeight(*result.model);
        const auto file = test::freshScratchDir("q-export-hand") / "hand.gguf";
        core::GgufExportOptions o;
        o.type = core::GgmlType::Q4_1;
        const auto report = core::exportGguf(*result.model, test::bundledModelDir(), file, o);
        const core::QuantizedWeight w = test::handWeight();
        const auto reader = core::GgufReader::open(file);
        const auto* t = reader->findTensor("blk.0.attn_q.weight");
        QVERIFY(t);
        QCOMPARE(t->type, core::GgmlType::Q4_1);
        const std::uint8_t* bytes = reader->data(*t);
        const core::Index d = result.model->config().headDim;
        int checked = 0;
        for (core::Index r = 0; r < w.rows; ++r) {
            const core::Index src = sourceRow(r, d);
            for (core::Index g = 0; g < w.cols / 32; ++g) {
                const std::uint8_t* blk = bytes + (r * (w.cols / 32) + g) * 20;
                QCOMPARE(core::f16ToFloat(u16(blk)), w.scales(src, g));
                QCOMPARE(u16(blk + 2), core::floatToF16(-(w.scales(src, g) * float(w.zeros(src, g)))));
                for (int j = 0; j < 32; ++j, ++checked) QCOMPARE(nibble(blk + 4, j), int(w.codes(src, g * 32 + j)));
            }
        }
        QCOMPARE(checked, 64 * 64);
        bool placed = false;
        for (const auto& tr : report.tensors) placed = placed || (tr.name == "blk.0.attn_q.weight" && tr.codesPlaced);
        QVERIFY(placed);
    }

    // The RTN int4 g32 checkpoint as Q4_1: each placed tensor within its F16-rounded m
    // (|scale·zero|·2⁻¹¹), the tied head on Q8_0 as llama-quantize keeps it, and logits on eval
    // text that move in proportion to the weights: top-1 ≥ 99 %, and max |Δlogit| per unit of
    // max |ΔW| within kPerWeightOverF16 of the F16 file of the same checkpoint. The head at Q4_1,
    // as the export wrote it before (max |ΔW| 0.063, max |Δlogit| 1.8, top-1 86 %), fails.
    void ggufQ4_1FollowsTheCheckpointsLogits_data() {
        QTest::addColumn<bool>("fourBitHead");
        QTest::newRow("default head") << false;
        QTest::newRow("head at Q4_1") << true;
    }
    void ggufQ4_1FollowsTheCheckpointsLogits() {
        QFETCH(bool, fourBitHead);
        const auto result = test::quantizeBundled(kRtn4g32);
        const auto& model = *result.model;
        const auto file = test::freshScratchDir("q-export-logits") / "q.gguf";
        core::GgufExportOptions o;
        o.type = core::GgmlType::Q4_1;
        if (fourBitHead) o.outputType = core::GgmlType::Q4_1;
        (void)core::exportGguf(model, test::bundledModelDir(), file, o);
        const auto tokens = evalTokens(4, 64);
        const auto reader = core::GgufReader::open(file);
        const auto check = core::checkGgufExport(*reader, model, tokens, 64);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems.front().c_str());
        QCOMPARE(reader->findTensor("token_embd.weight")->type, fourBitHead ? core::GgmlType::Q4_1 : core::GgmlType::Q8_0);

        bool within = true;
        for (const auto& t : check.tensors) {
            const auto* info = reader->findTensor(t.name);
            if (info->type != core::GgmlType::Q4_1 || t.name == "token_embd.weight") continue;
            // blk.<i>.<name>.weight → the checkpoint module; its m rounding bounds |ΔW|.
            const int layer = std::stoi(t.name.substr(4));
            static const char* kNames[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};  // ModuleKind order
            core::ModuleKind kind{};
            for (core::ModuleKind k : core::kAllModuleKinds)
                if (t.name.find(std::string(".") + kNames[std::size_t(k)] + ".") != std::string::npos) kind = k;
            const auto w = dynamic_cast<const core::QuantizedLinear&>(*model.layer(layer)->linear(kind)).weight();
            double mMax = 0.0;
            for (core::Index r = 0; r < w.rows; ++r)
                for (core::Index g = 0; g < w.groups(); ++g) mMax = std::max(mMax, std::fabs(double(w.scales(r, g)) * w.zeros(r, g)));
            const double bound = mMax / 2048.0 + 1e-6;  // F16 rounding of m, plus float rounding of d·q + m
            if (t.maxAbsDiff > bound) {
                within = false;
                qWarning("%s: max |dW| %g above the m rounding bound %g", t.name.c_str(), t.maxAbsDiff, bound);
            }
        }
        QVERIFY(within);

        const auto f16File = file.parent_path() / "f16.gguf";
        core::GgufExportOptions f16;
        f16.type = core::GgmlType::F16;
        (void)core::exportGguf(model, test::bundledModelDir(), f16File, f16);
        const LogitSensitivity ref = sensitivity(core::checkGgufExport(*core::GgufReader::open(f16File), model, tokens, 64));
        const LogitSensitivity got = sensitivity(check);
        QVERIFY(ref.maxDw > 0.0 && ref.maxDlogit > 0.0);
        const bool follows = got.top1 >= 0.99 && got.perWeight() <= kPerWeightOverF16 * ref.perWeight();
        const QString numbers = QString("max |dW| %1, max |dlogit| %2, top-1 %3; F16 file: max |dW| %4, max |dlogit| %5")
                                    .arg(got.maxDw).arg(got.maxDlogit).arg(got.top1).arg(ref.maxDw).arg(ref.maxDlogit);
        QVERIFY2(follows != fourBitHead, qPrintable(numbers));
    }

    // Symmetric grids: 4-bit on Q4_0 (q = code, the block's −8 is the zero point 8) and 8-bit on
    // Q8_0 (q = code − 128), d = scale; the decoded file equals the checkpoint exactly.
    void ggufSymmetricGridsArePlacedExactly_data() {
        QTest::addColumn<QString>("plan");
        QTest::addColumn<QString>("type");
        QTest::newRow("int4 sym -> Q4_0") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32, "sym": true}})" << "Q4_0";
        QTest::newRow("int8 sym -> Q8_0") << R"({"default": {"method": "rtn", "bits": 8, "group_size": 32, "sym": true}})" << "Q8_0";
        QTest::newRow("int4 asym -> Q5_1") << QString::fromStdString(kRtn4g32) << "Q5_1";
    }
    void ggufSymmetricGridsArePlacedExactly() {
        QFETCH(QString, plan);
        QFETCH(QString, type);
        const auto result = test::quantizeBundled(plan.toStdString());
        const auto file = test::freshScratchDir("q-export-sym") / "sym.gguf";
        core::GgufExportOptions o;
        o.type = *core::parseGgmlType(type.toStdString());
        (void)core::exportGguf(*result.model, test::bundledModelDir(), file, o);
        const auto reader = core::GgufReader::open(file);
        const auto* t = reader->findTensor("blk.2.attn_v.weight");  // v: no RoPE reordering
        QCOMPARE(t->type, o.type);
        const core::MatrixRM fromFile = reader->dequantize(*t);
        const core::MatrixRM W = result.model->layer(2)->linear(core::ModuleKind::V)->denseWeight();
        const double maxDiff = (fromFile - W).cwiseAbs().maxCoeff();
        if (o.type == core::GgmlType::Q5_1) QVERIFY2(maxDiff <= W.cwiseAbs().maxCoeff() * 0.001, qPrintable(QString::number(maxDiff)));
        else QCOMPARE(maxDiff, 0.0);
    }

    // A 5-bit g32 checkpoint (5-bit GPTQ bit streams) on GGUF: Q5_1 holds its asymmetric codes as
    // they are (levels 0..31 with m = −scale·zero), as Q4_1 does for 4 bits; Q4_1 must
    // re-quantize them; the 172-wide down_proj stays F16 either way.
    void fiveBitCodesGoOntoQ5_1Blocks() {
        const std::string plan = R"({"default": {"method": "rtn", "bits": 5, "group_size": 32}})";
        const auto dir = test::freshScratchDir("q-export-5bit");
        core::writeQuantizedCheckpoint(test::quantizeBundled(plan), core::QuantPlan::fromJsonText(plan, "plan"), test::bundledModelDir(), dir / "q");
        const auto model = core::loadModel(dir / "q");
        core::ExportTarget target;
        target.ggufType = core::GgmlType::Q5_1;
        const core::ExportSummary s = core::summarizeExport(*model, dir / "q", target);
        QCOMPARE(s.codesPlaced(), 5 * 6);
        QCOMPARE(s.requantized(), 0);
        QCOMPARE(s.keptF16(), 5);
        target.ggufType = core::GgmlType::Q4_1;
        QCOMPARE(core::summarizeExport(*model, dir / "q", target).requantized(), 5 * 6);
    }

    // The summary of the bundled model's RTN int4 g32 checkpoint: Q4_1 takes every 64-wide
    // module's codes, the 172-wide down_proj stays F16 and says why, the size is the file's.
    void summaryOfTheBundledCheckpoint() {
        const auto dir = test::freshScratchDir("q-export-summary");
        core::writeQuantizedCheckpoint(test::quantizeBundled(kRtn4g32), core::QuantPlan::fromJsonText(kRtn4g32, "plan"), test::bundledModelDir(),
                                       dir / "q");
        const auto model = core::loadModel(dir / "q");
        core::ExportTarget target;
        target.ggufType = core::GgmlType::Q4_1;
        const core::ExportSummary s = core::summarizeExport(*model, dir / "q", target);
        QCOMPARE(s.codesPlaced(), 5 * 6);
        QCOMPARE(s.keptF16(), 5);
        QCOMPARE(s.requantized(), 0);
        for (const auto& r : s.rows) {
            if (r.module.find("ffn_down") != std::string::npos) {
                QCOMPARE(r.target, std::string("F16"));
                QVERIFY2(r.reason.find("172 columns") != std::string::npos, r.reason.c_str());
                QCOMPARE(r.bytes, std::uint64_t(64 * 172 * 2));
            }
            if (r.module == "blk.0.attn_q.weight") QCOMPARE(r.bytes, std::uint64_t(64 * 2 * 20));
        }
        cli::ExportArgs a;
        a.model = (dir / "q").string();
        a.type = "Q4_1";
        a.out = (dir / "q.gguf").string();
        a.quiet = true;
        QCOMPARE(cli::runExport(a), 0);
        QCOMPARE(std::uint64_t(std::filesystem::file_size(dir / "q.gguf")), s.expectedBytes);

        target.ggufType = core::GgmlType::Q4_0;  // asymmetric codes do not lie on Q4_0's grid
        const core::ExportSummary s0 = core::summarizeExport(*model, dir / "q", target);
        QCOMPARE(s0.requantized(), 5 * 6);
        QCOMPARE(s0.codesPlaced(), 0);

        target.format = "gptq";
        const core::ExportSummary g = core::summarizeExport(*model, dir / "q", target);
        // GPTQ packs qzeros along out_features as well: gate/up (172 out) and down (172 in) stay F16.
        QCOMPARE(g.keptF16(), 3 * 5);
        a.format = "gptq";
        a.out = (dir / "gptq").string();
        QCOMPARE(cli::runExport(a), 0);
        std::uint64_t folder = 0;
        for (const auto& e : std::filesystem::directory_iterator(dir / "gptq")) folder += e.file_size();
        QVERIFY2(folder >= g.expectedBytes && folder <= g.expectedBytes + 64 * 1024,
                 qPrintable(QString("%1 vs %2").arg(folder).arg(g.expectedBytes)));

        a.dryRun = true;  // --dry-run writes nothing
        a.out = (dir / "dry").string();
        QCOMPARE(cli::runExport(a), 0);
        QVERIFY(!std::filesystem::exists(dir / "dry"));
    }

    // quantize --export gguf: the checkpoint and the checked file; check-export accepts it.
    // --output-type reaches the export: the tied head is F16 (the rule alone gives Q8_0 here).
    void quantizeExportWritesACheckedFile() {
        const auto dir = test::freshScratchDir("q-export-cli");
        std::ofstream(dir / "plan.json") << kRtn4g32;
        cli::QuantizeArgs q;
        q.model = test::bundledModelDir().string();
        q.plan = (dir / "plan.json").string();
        q.calib = test::bundledText("calib.txt").string();
        q.calibWindows = 4;
        q.calibCtx = 64;
        q.out = (dir / "q").string();
        q.exportFormat = "gguf";
        q.exportType = "Q4_1";
        q.exportOutputType = "F16";
        q.quiet = true;
        QCOMPARE(cli::runQuantize(q), 0);
        QVERIFY(std::filesystem::exists(dir / "q" / "config.json"));
        QVERIFY(std::filesystem::exists(dir / "q.gguf"));
        const auto file = core::GgufReader::open(dir / "q.gguf");
        QCOMPARE(file->findTensor("token_embd.weight")->type, core::GgmlType::F16);
        QCOMPARE(file->findTensor("blk.0.attn_q.weight")->type, core::GgmlType::Q4_1);
        cli::CheckExportArgs c;
        c.file = (dir / "q.gguf").string();
        c.model = q.out;
        c.windows = 2;
        c.ctx = 32;
        c.quiet = true;
        QCOMPARE(cli::runCheckExport(c), 0);
    }

    // A bad --export is refused before any work: one line naming it, nothing written.
    void quantizeExportBadArgumentsAreRefusedFirst_data() {
        QTest::addColumn<QString>("format");
        QTest::addColumn<QString>("type");
        QTest::addColumn<QString>("outputType");
        QTest::addColumn<QString>("message");
        QTest::newRow("format") << "onnx" << "F16" << "" << "--format onnx: use gguf, gptq, awq, compressed-tensors, f16 or bf16";
        QTest::newRow("type") << "gguf" << "Q3_K" << "" << "--type Q3_K: not a GGUF type";
        QTest::newRow("output type") << "gguf" << "Q4_1" << "Q3_K" << "--output-type Q3_K: not a GGUF type";
        QTest::newRow("output type of a folder") << "gptq" << "F16" << "F16" << "--output-type applies to --format gguf only";
    }
    void quantizeExportBadArgumentsAreRefusedFirst() {
        QFETCH(QString, format);
        QFETCH(QString, type);
        QFETCH(QString, outputType);
        QFETCH(QString, message);
        const auto dir = test::freshScratchDir("q-export-bad");
        std::ofstream(dir / "plan.json") << kRtn4g32;
        cli::QuantizeArgs q;
        q.model = test::bundledModelDir().string();
        q.plan = (dir / "plan.json").string();
        q.calib = test::bundledText("calib.txt").string();
        q.out = (dir / "q").string();
        q.exportFormat = format.toStdString();
        q.exportType = type.toStdString();
        q.exportOutputType = outputType.toStdString();
        q.quiet = true;
        try {
            (void)cli::runQuantize(q);
            QFAIL("accepted");
        } catch (const core::Error& e) {
            QVERIFY2(QString(e.what()).startsWith(message), e.what());
            QVERIFY(!QString(e.what()).contains('\n'));
        }
        QVERIFY(!std::filesystem::exists(dir / "q"));
    }
};

QTEST_GUILESS_MAIN(TestQuantizeExport)
#include "test_quantize_export.moc"

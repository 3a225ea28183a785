// Hugging Face exports (GPTQ, AWQ GEMM, compressed-tensors): the bytes of a hand-chosen module
// against words worked out by hand from each format's specification, a round trip of the
// quantized bundled model per format through the independent readers (every quantized module
// decoded exactly, F16 fallbacks within F16 rounding, logits), mixed plans, and the refusals.
#include <QtTest>

#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/backend/backend.h"
#include "core/export/hf_check.h"
#include "core/export/hf_export.h"
#include "core/export/readers/exported_folder_reader.h"
#include "core/export/readers/hf_folder.h"
#include "core/io/safetensors_file.h"
#include "core/util/error.h"
#include "hf_export_fixtures.h"
#include "support/outlier_model.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

const std::string kQ0 = "model.layers.0.self_attn.q_proj";

nlohmann::json quantizationConfig(const std::filesystem::path& dir) {
    std::ifstream in(dir / "config.json");
    return nlohmann::json::parse(in)["quantization_config"];
}

// Element k of an integer tensor as an unsigned 32-bit word.
std::uint32_t word(const std::filesystem::path& dir, const std::string& tensor, std::size_t k) {
    const auto f = SafetensorsFile::open(dir / "model.safetensors");
    const TensorInfo* t = f->find(tensor);
    if (!t || (k + 1) * 4 > t->nbytes) throw Error("no element " + std::to_string(k) + " in " + tensor);
    std::uint32_t w = 0;
    std::memcpy(&w, t->data + k * 4, 4);
    return w;
}

std::vector<std::int64_t> shapeOf(const std::filesystem::path& dir, const std::string& tensor) {
    const auto f = SafetensorsFile::open(dir / "model.safetensors");
    const TensorInfo* t = f->find(tensor);
    return t ? t->shape : std::vector<std::int64_t>{};
}

std::vector<int> someTokens(int n) {
    std::vector<int> ids(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ids[std::size_t(i)] = (i * 37 + 11) % 512;
    return ids;
}

HfCheckReport check(const std::filesystem::path& dir, const LlamaModel& model) {
    return checkHfExport(*openExportedFolder(dir), model, someTokens(2 * 64), 64);
}

std::string problems(const HfCheckReport& r) {
    std::string s;
    for (const auto& p : r.problems) s += p + "\n";
    return s;
}

HfExportReport exportTo(const LlamaModel& m, const std::string& tag, HfExportFormat f, std::optional<GptqZeroFormat> z = {}) {
    HfExportOptions o;
    o.format = f;
    o.gptqZeros = z;
    return exportHf(m, test::bundledModelDir(), test::freshScratchDir(tag) / "out", o);
}

const char* kRtn = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";

}  // namespace

class TestHfExport : public QObject {
    Q_OBJECT
    std::shared_ptr<LlamaModel> m_hand;  // RTN w4 g32 with the hand-chosen q_proj in layer 0

private slots:
    void initTestCase() {
        setThreadCount(2);
        m_hand = test::quantizeBundled(kRtn).model;
        test::putHandWeight(*m_hand);
    }

    // GPTQ, hand-worked words: qweight[0, 0] holds rows 0..7 of output 0 (codes 1..8), low nibble
    // first; qzeros[0, 0] the zero points of outputs 0..7 in group 0 (0..7), stored as is in v2,
    // which the zero point 0 of output 0 requires.
    void gptqWordsAndV2() {
        const auto r = exportTo(*m_hand, "hf-gptq-hand", HfExportFormat::Gptq);
        QCOMPARE(r.variant, std::string("gptq_v2"));
        QCOMPARE(word(r.dir, kQ0 + ".qweight", 0), 0x87654321u);
        QCOMPARE(word(r.dir, kQ0 + ".qzeros", 0), 0x76543210u);
        QCOMPARE(shapeOf(r.dir, kQ0 + ".qweight"), (std::vector<std::int64_t>{8, 64}));
        const auto q = quantizationConfig(r.dir);
        QCOMPARE(q["checkpoint_format"].get<std::string>(), std::string("gptq_v2"));
        QCOMPARE(q["bits"].get<int>(), 4);
        QCOMPARE(q["group_size"].get<int>(), 32);
        // The 172-wide MLP cannot be packed: F16 weights, "-:" dynamic entries, a warning each.
        QVERIFY(q["dynamic"].contains("-:^model\\.layers\\.0\\.mlp\\.down_proj$"));
        QVERIFY(q["dynamic"].contains("-:^model\\.layers\\.4\\.mlp\\.gate_proj$"));
        QCOMPARE(SafetensorsFile::open(r.dir / "model.safetensors")->find("model.layers.0.mlp.down_proj.weight")->dtype, DType::F16);
        QCOMPARE(r.keptF16(), 15);
        QCOMPARE(int(r.warnings.size()), 16);  // 15 modules and the v2 note
        const HfCheckReport c = check(r.dir, *m_hand);
        QVERIFY2(c.ok(), problems(c).c_str());
        QCOMPARE(c.exactModules, 20);
        QCOMPARE(c.f16Modules, 15);
        QVERIFY(c.logits && c.logits->top1Agreement > 0.97);
    }

    void gptqV1RefusesAZeroPointOfZero() {
        const auto dir = test::freshScratchDir("hf-gptq-v1") / "out";
        HfExportOptions o;
        o.gptqZeros = GptqZeroFormat::V1;
        try {
            (void)exportHf(*m_hand, test::bundledModelDir(), dir, o);
            QFAIL("v1 accepted a zero point of 0");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(QString::fromStdString(kQ0)) && QString(e.what()).contains("gptq_v2"), e.what());
        }
        QVERIFY(!std::filesystem::exists(dir));
        // Without such a group v1 is chosen, and a v1 reader adds 1 back.
        const auto sym = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32, "sym": true}})");
        const auto r = exportTo(*sym.model, "hf-gptq-v1-sym", HfExportFormat::Gptq);
        QCOMPARE(r.variant, std::string("gptq"));
        QCOMPARE(word(r.dir, kQ0 + ".qzeros", 0), 0x77777777u);  // zero 8 stored as 7
        const HfCheckReport c = check(r.dir, *sym.model);
        QVERIFY2(c.ok(), problems(c).c_str());
    }

    // Mixed plan: act-order GPTQ by default, an 8-bit per-row module and a 3-bit one as "+:" dynamic
    // overrides, an fp16 module as "-:".
    void gptqMixedPlanUsesDynamic() {
        const auto q = test::quantizeBundled(R"({"default": {"method": "gptq", "bits": 4, "group_size": 32, "act_order": true},
            "rules": [{"match": "model.layers.1.self_attn.v_proj", "bits": 8, "group_size": -1, "sym": true},
                      {"match": "model.layers.2.self_attn.k_proj", "bits": 3},
                      {"match": "model.layers.0.self_attn.o_proj", "method": "fp16"}]})");
        const auto r = exportTo(*q.model, "hf-gptq-mixed", HfExportFormat::Gptq);
        const auto cfg = quantizationConfig(r.dir);
        QCOMPARE(cfg["desc_act"].get<bool>(), true);
        const auto& v = cfg["dynamic"]["+:^model\\.layers\\.1\\.self_attn\\.v_proj$"];
        QCOMPARE(v["bits"].get<int>(), 8);
        QCOMPARE(v["group_size"].get<int>(), -1);
        QCOMPARE(cfg["dynamic"]["+:^model\\.layers\\.2\\.self_attn\\.k_proj$"]["bits"].get<int>(), 3);
        QVERIFY(cfg["dynamic"].contains("-:^model\\.layers\\.0\\.self_attn\\.o_proj$"));
        QCOMPARE(shapeOf(r.dir, "model.layers.2.self_attn.k_proj.qweight"), (std::vector<std::int64_t>{6, 32}));  // 64/32·3
        const HfCheckReport c = check(r.dir, *q.model);
        QVERIFY2(c.ok(), problems(c).c_str());
        QCOMPARE(c.exactModules, 19);
        // vLLM fuses q/k/v into qkv_proj with one scheme: layers 1 and 2 are warned about, by name;
        // gate/up (both F16, 172 rows) and the other layers are uniform.
        std::vector<std::string> fused;
        for (const auto& w : r.warnings)
            if (w.find("vLLM loads them as one fused layer") != std::string::npos) fused.push_back(w);
        QCOMPARE(int(fused.size()), 2);
        QVERIFY2(fused[0].starts_with("model.layers.1.self_attn.qkv_proj: its shards differ (q_proj gptq int4"), fused[0].c_str());
        QVERIFY2(fused[0].find("v_proj gptq int8") != std::string::npos, fused[0].c_str());
        QVERIFY2(fused[1].starts_with("model.layers.2.self_attn.qkv_proj: "), fused[1].c_str());
        QVERIFY2(fused[1].find("k_proj gptq int3") != std::string::npos, fused[1].c_str());
    }

    // A uniform plan gives every fused layer's shards one scheme: no fused-layer warning.
    void uniformPlanHasNoFusedShardWarning() {
        const auto q = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})");
        const auto r = exportTo(*q.model, "hf-gptq-uniform-fused", HfExportFormat::Gptq);
        QVERIFY(!r.warnings.empty());  // the 172-wide MLP modules kept F16
        for (const auto& w : r.warnings) QVERIFY2(w.find("fused layer") == std::string::npos, w.c_str());
    }

    // check-export reads folders from anywhere: an index naming a shard outside the folder is
    // refused by the loader's own rule, before any file is opened.
    void exportedFolderShardOutsideTheFolderIsRefused() {
        const auto dir = test::freshScratchDir("hf-folder-escape");
        std::filesystem::create_directories(dir / "m");
        std::ofstream(dir / "m" / "config.json") << "{\"model_type\": \"llama\"}";
        std::ofstream(dir / "m" / "model.safetensors.index.json") << "{\"weight_map\": {\"a.weight\": \"../outside.safetensors\"}}";
        std::ofstream(dir / "outside.safetensors") << "not read";
        try {
            (void)HfFolder::open(dir / "m");
            QFAIL("a shard outside the folder was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("must be a plain file name"), e.what());
        }
    }

    // AWQ, hand-worked words: row 0 of qweight holds input 0 of outputs 0..7 (codes 1..8) in the order
    // [0, 2, 4, 6, 1, 3, 5, 7]: nibbles 1, 3, 5, 7, 2, 4, 6, 8; qzeros row 0 the zero points 0..7 the same way.
    void awqInterleavedWords() {
        const auto r = exportTo(*m_hand, "hf-awq-hand", HfExportFormat::Awq);
        QCOMPARE(word(r.dir, kQ0 + ".qweight", 0), 0x86427531u);
        QCOMPARE(word(r.dir, kQ0 + ".qzeros", 0), 0x75316420u);
        QCOMPARE(shapeOf(r.dir, kQ0 + ".qweight"), (std::vector<std::int64_t>{64, 8}));
        QCOMPARE(shapeOf(r.dir, kQ0 + ".scales"), (std::vector<std::int64_t>{2, 64}));
        const auto q = quantizationConfig(r.dir);
        QCOMPARE(q["quant_method"].get<std::string>(), std::string("awq"));
        QCOMPARE(q["version"].get<std::string>(), std::string("gemm"));
        QCOMPARE(q["zero_point"].get<bool>(), true);
        QCOMPARE(int(q["modules_to_not_convert"].size()), 15);  // gate/up: out 172 % 8; down: in 172 % 32
        const HfCheckReport c = check(r.dir, *m_hand);
        QVERIFY2(c.ok(), problems(c).c_str());
        QCOMPARE(c.exactModules, 20);
    }

    void awqRefusesWhatItCannotHold() {
        const auto actOrder = test::quantizeBundled(R"({"default": {"method": "gptq", "bits": 4, "group_size": 32, "act_order": true}})");
        try {
            (void)exportTo(*actOrder.model, "hf-awq-actorder", HfExportFormat::Awq);
            QFAIL("AWQ accepted act-order");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("act-order"), e.what());
        }
        const auto eight = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32},
            "rules": [{"match": "model.layers.1.self_attn.k_proj", "bits": 8}]})");
        QVERIFY_THROWS_EXCEPTION(Error, (void)exportTo(*eight.model, "hf-awq-8bit", HfExportFormat::Awq));
        const auto w8a8 = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32},
            "rules": [{"match": "model.layers.1.self_attn.k_proj", "method": "w8a8"}]})");
        try {
            (void)exportTo(*w8a8.model, "hf-gptq-w8a8", HfExportFormat::Gptq);
            QFAIL("GPTQ accepted a w8a8 module");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains("model.layers.1.self_attn.k_proj") && QString(e.what()).contains("int8"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(Error, (void)exportTo(*test::bundledModel(), "hf-float", HfExportFormat::Gptq));  // nothing quantized
    }

    // 5–7-bit codes: no GPTQ, AWQ or compressed-tensors loader reads them, so each export
    // refuses the module by name rather than writing F16 or wrong words.
    void fiveBitModulesAreRefusedByEveryHfFormat() {
        const auto five = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32},
            "rules": [{"match": "model.layers.2.mlp.up_proj", "bits": 5}]})");
        for (const auto format : {HfExportFormat::Gptq, HfExportFormat::Awq, HfExportFormat::CompressedTensors}) {
            try {
                (void)exportTo(*five.model, "hf-5bit-" + hfExportFormatName(format), format);
                QFAIL(qPrintable(QString::fromStdString(hfExportFormatName(format)) + " accepted a 5-bit module"));
            } catch (const Error& e) {
                QVERIFY2(QString(e.what()).contains("model.layers.2.mlp.up_proj") && QString(e.what()).contains("int5"), e.what());
            }
        }
    }

    // compressed-tensors, hand-worked words: weight_packed[0, 0] holds columns 0..7 of row 0 (codes
    // 1..8, i.e. signed −7..0 plus the offset 8), weight_zero_point[0, 0] the zero points of rows 0..7
    // in group 0 (0..7) packed along the output dimension.
    void compressedTensorsWords() {
        const auto r = exportTo(*m_hand, "hf-ct-hand", HfExportFormat::CompressedTensors);
        QCOMPARE(r.variant, std::string("pack-quantized"));
        QCOMPARE(word(r.dir, kQ0 + ".weight_packed", 0), 0x87654321u);
        QCOMPARE(word(r.dir, kQ0 + ".weight_zero_point", 0), 0x76543210u);
        QCOMPARE(shapeOf(r.dir, kQ0 + ".weight_zero_point"), (std::vector<std::int64_t>{8, 2}));
        QCOMPARE(shapeOf(r.dir, "model.layers.0.mlp.gate_proj.weight_zero_point"), (std::vector<std::int64_t>{22, 2}));  // ceil(172/8)
        QCOMPARE(word(r.dir, kQ0 + ".weight_shape", 0), 64u);
        const auto q = quantizationConfig(r.dir);
        QCOMPARE(q["quant_method"].get<std::string>(), std::string("compressed-tensors"));
        QCOMPARE(q["config_groups"]["group_0"]["weights"]["strategy"].get<std::string>(), std::string("group"));
        QCOMPARE(q["config_groups"]["group_0"]["weights"]["symmetric"].get<bool>(), false);
        QCOMPARE(int(q["ignore"].size()), 6);  // the five down_proj (in 172 % 32) and lm_head
        const HfCheckReport c = check(r.dir, *m_hand);
        QVERIFY2(c.ok(), problems(c).c_str());
        QCOMPARE(c.exactModules, 30);
    }

    // W4A16 with an act-order module and a W8A8 module: "mixed-precision", int8 weights, g_idx.
    void compressedTensorsMixedPrecision() {
        const auto q = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32, "sym": true},
            "rules": [{"match": "model.layers.1.mlp.down_proj", "method": "w8a8"},
                      {"match": "model.layers.0.self_attn.q_proj", "method": "gptq", "act_order": true, "sym": false}]})");
        const auto r = exportTo(*q.model, "hf-ct-mixed", HfExportFormat::CompressedTensors);
        QCOMPARE(r.variant, std::string("mixed-precision"));
        const auto f = SafetensorsFile::open(r.dir / "model.safetensors");
        QCOMPARE(f->find("model.layers.1.mlp.down_proj.weight")->dtype, DType::I8);
        QVERIFY(f->find(kQ0 + ".weight_g_idx"));
        QVERIFY(!f->find("model.layers.0.self_attn.k_proj.weight_zero_point"));  // symmetric: no zero point
        const HfCheckReport c = check(r.dir, *q.model);
        QVERIFY2(c.ok(), problems(c).c_str());
    }

    void aChangedByteFailsTheCheck() {
        const auto r = exportTo(*m_hand, "hf-tamper", HfExportFormat::Gptq);
        const std::size_t at = SafetensorsFile::open(r.dir / "model.safetensors")->find("model.layers.2.self_attn.v_proj.qweight")->fileOffset + 40;
        {
            std::fstream f(r.dir / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
            f.seekg(std::streamoff(at));
            char b = 0;
            f.read(&b, 1);
            b = char(b ^ 0x11);
            f.seekp(std::streamoff(at));
            f.write(&b, 1);
        }
        const HfCheckReport c = check(r.dir, *m_hand);
        QVERIFY(!c.ok());
        QVERIFY2(problems(c).find("model.layers.2.self_attn.v_proj") != std::string::npos, problems(c).c_str());
    }
};

QTEST_GUILESS_MAIN(TestHfExport)
#include "test_hf_export.moc"

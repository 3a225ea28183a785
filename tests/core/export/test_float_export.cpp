// The dequantized float export (issue 14: "dequantized F16/BF16 safetensors, for any other
// engine"): a plain Hugging Face folder whose modules are the quantized model's dense weights
// rounded once to F16 or BF16, with no quantization_config, checked by the float reader and
// loadable by any float loader — quantbench's own included.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/backend/backend.h"
#include "core/export/export_summary.h"
#include "core/export/hf_check.h"
#include "core/export/hf_export.h"
#include "core/export/readers/exported_folder_reader.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors_file.h"
#include "core/model/llama_model.h"
#include "core/quant/plan.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/util/error.h"
#include "hf_export_fixtures.h"
#include "support/test_support.h"

using namespace qb;
using namespace qb::core;

namespace {

const std::string kQ0 = "model.layers.0.self_attn.q_proj";

// IEEE binary16 bits → float, decoded by hand from the format (1 sign, 5 exponent, 10 fraction bits).
double decodeF16(std::uint16_t h) {
    const int sign = h >> 15, e = (h >> 10) & 31, f = h & 1023;
    const double v = e == 0 ? std::ldexp(double(f), -24) : std::ldexp(1.0 + f / 1024.0, e - 15);
    return sign ? -v : v;
}
// bfloat16 bits → float: the top half of a binary32.
double decodeBf16(std::uint16_t h) {
    const std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// The largest |stored − w| over tensor name's elements relative to half an ulp of dtype at w
// (≤ 1 means every value is w correctly rounded once).
double worstHalfUlps(const std::filesystem::path& dir, const std::string& name, const MatrixRM& W, DType dtype) {
    const auto f = SafetensorsFile::open(dir / "model.safetensors");
    const TensorInfo* t = f->find(name);
    if (!t || t->dtype != dtype || t->nbytes != std::size_t(W.size()) * 2) throw Error(name + ": not " + dtypeName(dtype) + " of the weight's size");
    const int fraction = dtype == DType::F16 ? 10 : 7;
    double worst = 0.0;
    for (Index i = 0; i < W.size(); ++i) {
        std::uint16_t h;
        std::memcpy(&h, t->data + 2 * i, 2);
        const double w = W.data()[i], got = dtype == DType::F16 ? decodeF16(h) : decodeBf16(h);
        const int e = w == 0.0 ? -14 : std::max(std::ilogb(w), dtype == DType::F16 ? -14 : -126);
        worst = std::max(worst, std::fabs(got - w) / std::ldexp(0.5, e - fraction));
    }
    return worst;
}

nlohmann::json configOf(const std::filesystem::path& dir) {
    std::ifstream in(dir / "config.json");
    return nlohmann::json::parse(in);
}

std::vector<int> someTokens(int n) {
    std::vector<int> ids(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) ids[std::size_t(i)] = (i * 37 + 11) % 512;
    return ids;
}

}  // namespace

class TestFloatExport : public QObject {
    Q_OBJECT
    std::shared_ptr<LlamaModel> m_rtn;  // the bundled model, RTN w4 g32

private slots:
    void initTestCase() {
        setThreadCount(2);
        m_rtn = test::quantizeBundled(R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})").model;
    }

    void f16FolderHoldsTheDenseWeightsRoundedOnceAndNoQuantizationConfig() {
        HfExportOptions o;
        o.format = HfExportFormat::Float16;
        const auto r = exportHf(*m_rtn, test::bundledModelDir(), test::freshScratchDir("float-f16") / "out", o);
        QCOMPARE(r.variant, std::string("dequantized F16"));
        QCOMPARE(r.keptF16(), 0);
        const auto config = configOf(r.dir);
        QVERIFY(!config.contains("quantization_config"));
        QCOMPARE(config["torch_dtype"].get<std::string>(), std::string("float16"));
        const MatrixRM W = m_rtn->layer(0)->linear(ModuleKind::Q)->denseWeight();
        QVERIFY(worstHalfUlps(r.dir, kQ0 + ".weight", W, DType::F16) <= 1.0);
        const auto check = checkHfExport(*openExportedFolder(r.dir), *m_rtn, someTokens(2 * 64), 64);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems[0].c_str());
    }

    void bf16FolderIsTheSameInBf16() {
        HfExportOptions o;
        o.format = HfExportFormat::BFloat16;
        const auto r = exportHf(*m_rtn, test::bundledModelDir(), test::freshScratchDir("float-bf16") / "out", o);
        QCOMPARE(configOf(r.dir)["torch_dtype"].get<std::string>(), std::string("bfloat16"));
        const MatrixRM W = m_rtn->layer(3)->linear(ModuleKind::Down)->denseWeight();
        QVERIFY(worstHalfUlps(r.dir, "model.layers.3.mlp.down_proj.weight", W, DType::BF16) <= 1.0);
        const auto check = checkHfExport(*openExportedFolder(r.dir), *m_rtn, someTokens(2 * 64), 64);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems[0].c_str());
    }

    void theF16FolderLoadsAsAPlainModelWithTheQuantizedModelsPredictions() {
        HfExportOptions o;
        o.format = HfExportFormat::Float16;
        const auto r = exportHf(*m_rtn, test::bundledModelDir(), test::freshScratchDir("float-load") / "out", o);
        const auto plain = LlamaModel::load(Checkpoint::open(r.dir));
        const auto tokens = someTokens(2 * 64);
        const MatrixRM a = m_rtn->forward(tokens, 64), b = plain->forward(tokens, 64);
        int same = 0;
        for (Index t = 0; t < a.rows(); ++t) {
            Index ia, ib;
            a.row(t).maxCoeff(&ia);
            b.row(t).maxCoeff(&ib);
            same += ia == ib;
        }
        QVERIFY2(same >= a.rows() - 1, qPrintable(QString("top-1 agrees at %1 of %2 positions").arg(same).arg(a.rows())));
        QVERIFY((a - b).cwiseAbs().maxCoeff() < 0.05f);
    }

    void aFloatModelMayBeConvertedButNotPacked() {
        const auto fp = LlamaModel::load(Checkpoint::open(test::bundledModelDir()));
        HfExportOptions o;
        o.format = HfExportFormat::Float16;
        QVERIFY(exportHf(*fp, test::bundledModelDir(), test::freshScratchDir("float-fp") / "out", o).modules.size() == 35);
        o.format = HfExportFormat::Awq;
        QVERIFY_THROWS_EXCEPTION(Error, (void)exportHf(*fp, test::bundledModelDir(), test::freshScratchDir("float-fp-awq") / "out", o));
    }

    // A streamed model (a large checkpoint's default) drops each layer once nothing holds it; the
    // export plans must keep the modules they list (a 1B checkpoint's GPTQ export crashed).
    void aStreamedQuantizedCheckpointExportsInEveryLayout() {
        const auto dir = test::freshScratchDir("float-streamed");
        const std::string plan = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
        writeQuantizedCheckpoint(test::quantizeBundled(plan), QuantPlan::fromJsonText(plan, "plan"), test::bundledModelDir(), dir / "q");
        ModelLoadOptions streamed;
        streamed.resident = false;
        const auto model = loadModel(dir / "q", streamed);
        QVERIFY(!model->resident());
        for (HfExportFormat f : {HfExportFormat::Gptq, HfExportFormat::Awq, HfExportFormat::CompressedTensors, HfExportFormat::Float16}) {
            HfExportOptions o;
            o.format = f;
            const auto out = dir / hfExportFormatName(f);
            const auto r = exportHf(*model, dir / "q", out, o);
            QCOMPARE(int(r.modules.size()), 35);
            const auto check = checkHfExport(*openExportedFolder(out), *model, someTokens(2 * 64), 64);
            QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems[0].c_str());
        }
    }

    void theFormatListNamesTheFloatFormats() {
        QCOMPARE(exportFormatList(), std::string("gguf, gptq, awq, compressed-tensors, f16 or bf16"));
        QCOMPARE(parseHfExportFormat("bf16"), std::optional<HfExportFormat>(HfExportFormat::BFloat16));
    }
};

QTEST_GUILESS_MAIN(TestFloatExport)
#include "test_float_export.moc"

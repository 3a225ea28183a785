// GGUF export end to end: the bundled model written in every type, reloaded by the independent
// reader and checked (weights against each type's bound, logits through the forward); its
// metadata key by key; every family fixture (llama/qwen2/qwen3 names, biases, q/k norms, rope
// scaling, untied heads); the q/k row order against convert_hf_to_gguf.py's permute and against
// RoPE itself; and the check failing on files that are wrong in the ways the features prevent.
#include <QtTest>

#include <cmath>
#include <fstream>
#include <random>

#include "core/calib/calibration.h"
#include "core/io/safetensors_file.h"
#include "core/export/gguf_check.h"
#include "core/export/gguf_pack.h"
#include "core/export/gguf_reader.h"
#include "core/export/gguf_writer.h"
#include "core/model/rope.h"
#include "core/text/tokenizer.h"
#include "core/util/error.h"
#include "export_fixtures.h"
#include "support/test_support.h"

using namespace qb;
using core::GgmlType;
using core::Index;
using core::MatrixRM;

namespace {

std::shared_ptr<core::LlamaModel> loadModel(const std::filesystem::path& dir) {
    return core::LlamaModel::load(core::Checkpoint::open(dir));
}

std::vector<int> evalTokens(const std::filesystem::path& dir, int windows, int ctx) {
    auto ids = core::encodeDocuments(*core::Tokenizer::load(dir), core::readTextFile(test::bundledText("eval.txt")));
    ids.resize(std::size_t(windows * ctx));
    return ids;
}

std::vector<int> randomTokens(int vocab, int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<int> ids(static_cast<std::size_t>(n));
    for (int& id : ids) id = int(rng() % unsigned(vocab));
    return ids;
}

std::uint64_t uintKey(const core::GgufReader& r, const std::string& key) {
    const auto* v = r.find(key);
    if (!v || !v->asUInt()) throw core::Error("test: key " + key + " missing");
    return *v->asUInt();
}

std::string stringKey(const core::GgufReader& r, const std::string& key) {
    const auto* v = r.find(key);
    return v && v->asString() ? *v->asString() : std::string("<missing>");
}

void overwrite(const std::filesystem::path& file, std::uint64_t offset, const void* data, std::size_t n) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(offset));
    f.write(static_cast<const char*>(data), std::streamsize(n));
}

// Plain loops instead of Eigen products and reductions (GCC 12 warns inside Eigen's AVX-512 paths).
MatrixRM timesTransposed(const MatrixRM& X, const MatrixRM& W) {
    MatrixRM Y(X.rows(), W.rows());
    for (Index i = 0; i < X.rows(); ++i)
        for (Index o = 0; o < W.rows(); ++o) {
            double acc = 0.0;
            for (Index k = 0; k < X.cols(); ++k) acc += double(X(i, k)) * double(W(o, k));
            Y(i, o) = float(acc);
        }
    return Y;
}

float maxAbsDiff(const MatrixRM& A, const MatrixRM& B) {
    float m = 0.0f;
    for (Index i = 0; i < A.rows(); ++i)
        for (Index j = 0; j < A.cols(); ++j) m = std::max(m, std::fabs(A(i, j) - B(i, j)));
    return m;
}

// A Llama checkpoint 256 wide (K blocks fit its rows) with q/k/v biases, random weights (seed),
// the bundled SentencePiece tokenizer: hidden 256, 4 heads over 2 KV heads, MLP 512, 2 layers.
std::filesystem::path wideLlamaWithBiases() {
    const auto dir = test::freshScratchDir("gguf-wide");
    std::ofstream(dir / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 256, "intermediate_size": 512,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512,
        "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
        "attention_bias": true, "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2})";
    std::filesystem::copy_file(test::bundledModelDir() / "tokenizer.model", dir / "tokenizer.model");
    std::vector<core::TensorBlob> blobs;
    unsigned seed = 100;
    auto add = [&](const std::string& name, Index rows, Index cols, float stddev, float offset = 0.0f) {
        MatrixRM m = test::randomMatrix(rows, cols, seed++, stddev);
        m.array() += offset;
        std::vector<std::int64_t> shape = {rows, cols};
        if (rows == 1) shape = {cols};
        blobs.push_back(core::makeFloatBlob(name, shape, m.data(), core::DType::F32));
    };
    add("model.embed_tokens.weight", 512, 256, 0.3f);
    add("lm_head.weight", 512, 256, 0.1f);
    add("model.norm.weight", 1, 256, 0.1f, 1.0f);
    for (int l = 0; l < 2; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", 1, 256, 0.1f, 1.0f);
        add(p + "post_attention_layernorm.weight", 1, 256, 0.1f, 1.0f);
        add(p + "self_attn.q_proj.weight", 256, 256, 0.08f);
        add(p + "self_attn.k_proj.weight", 128, 256, 0.08f);
        add(p + "self_attn.v_proj.weight", 128, 256, 0.06f);
        add(p + "self_attn.q_proj.bias", 1, 256, 0.3f);
        add(p + "self_attn.k_proj.bias", 1, 128, 0.3f);
        add(p + "self_attn.v_proj.bias", 1, 128, 0.3f);
        add(p + "self_attn.o_proj.weight", 256, 256, 0.06f);
        add(p + "mlp.gate_proj.weight", 512, 256, 0.05f);
        add(p + "mlp.up_proj.weight", 512, 256, 0.05f);
        add(p + "mlp.down_proj.weight", 256, 512, 0.04f);
    }
    core::writeSafetensors(dir / "model.safetensors", blobs);
    return dir;
}

// RoPE on adjacent pairs (x_{2i}, x_{2i+1}) with θ_i = base^(−2i/d): the layout llama.cpp's
// "llama" architecture rotates (GGML_ROPE_TYPE_NORM). x: [T, heads·d], row t at position t.
void adjacentPairRope(MatrixRM& x, int heads, int d, double base) {
    for (Index t = 0; t < x.rows(); ++t)
        for (int h = 0; h < heads; ++h)
            for (int i = 0; i < d / 2; ++i) {
                const double theta = double(t) * std::pow(base, -2.0 * i / d);
                float& a = x(t, h * d + 2 * i);
                float& b = x(t, h * d + 2 * i + 1);
                const double a0 = a, b0 = b;
                a = float(a0 * std::cos(theta) - b0 * std::sin(theta));
                b = float(b0 * std::cos(theta) + a0 * std::sin(theta));
            }
}

}  // namespace

class TestGgufExport : public QObject {
    Q_OBJECT
private slots:
    void qkPermutationIsConvertScriptsReshape() {
        // permute(W, n_head): W.reshape(n_head, 2, d/2, cols).swapaxes(1, 2).reshape(W.shape).
        // For 2 heads of d = 8 the rows come out as 0 4 1 5 2 6 3 7 | 8 12 9 13 10 14 11 15.
        MatrixRM W(16, 3);
        for (Index r = 0; r < 16; ++r) W.row(r).setConstant(float(r));
        const MatrixRM P = core::ggufPermuteQk(W, 2);
        const int want[16] = {0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15};
        for (Index r = 0; r < 16; ++r) QCOMPARE(P(r, 2), float(want[r]));
        QVERIFY_THROWS_EXCEPTION(core::Error, (void)core::ggufPermuteQk(W, 3));
    }

    void qkPermutationTurnsRotateHalfRopeIntoAdjacentPairRope() {
        // What the permutation is for: rotating the permuted projection's output in adjacent pairs
        // (llama.cpp) gives the permuted rows of the rotate-half RoPE of the original (HF).
        constexpr int heads = 4, d = 16, in = 24, T = 7;
        const MatrixRM W = test::randomMatrix(heads * d, in, 3), X = test::randomMatrix(T, in, 4);
        MatrixRM hf = timesTransposed(X, W);
        core::applyRope(hf, heads, d, T, 10000.0);
        MatrixRM cpp = timesTransposed(X, core::ggufPermuteQk(W, heads));
        adjacentPairRope(cpp, heads, d, 10000.0);
        const MatrixRM want = core::ggufPermuteQk(MatrixRM(hf.transpose()), heads).transpose();  // permute the feature columns
        QVERIFY(maxAbsDiff(cpp, want) < 1e-4f);
        // Without the permutation the two layouts disagree.
        MatrixRM plain = timesTransposed(X, W);
        adjacentPairRope(plain, heads, d, 10000.0);
        QVERIFY(maxAbsDiff(plain, hf) > 0.1f);
    }

    void bundledModelRoundTripsInEveryType_data() {
        QTest::addColumn<int>("type");
        for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                           GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q6_K})
            QTest::newRow(core::ggmlTypeName(t).c_str()) << int(t);
    }
    void bundledModelRoundTripsInEveryType() {
        QFETCH(int, type);
        const GgmlType t = GgmlType(type);
        const auto dir = test::bundledModelDir();
        const auto model = loadModel(dir);
        const auto file = test::freshScratchDir("gguf-bundled-" + core::ggmlTypeName(t)) / "m.gguf";
        const auto report = core::exportGguf(*model, dir, file, {.type = t, .name = {}, .outputType = {}});
        QCOMPARE(report.fileBytes, std::uint64_t(std::filesystem::file_size(file)));
        // Nothing but the file beside it: the writer's temp ("m.gguf.tmp-<pid>") was renamed.
        QCOMPARE(std::distance(std::filesystem::directory_iterator(file.parent_path()), std::filesystem::directory_iterator()), 1);
        const auto r = core::GgufReader::open(file);
        QCOMPARE(r->tensors().size(), std::size_t(1 + 5 * 9 + 1));  // token_embd, 5 × (2 norms + 7), output_norm; tied head
        // Legacy blocks take the 64-wide rows; the 172-wide ffn_down rows stay F16. K types (256) fall
        // back to Q5_0 / Q8_0 for 64-wide rows, as llama-quantize does. token_embd is the tied
        // output head: Q8_0 in every quantized type (64 columns do not fill Q6_K), as llama-quantize.
        const GgmlType rows64 = t == GgmlType::Q4_K ? GgmlType::Q5_0 : t == GgmlType::Q6_K ? GgmlType::Q8_0 : t;
        const GgmlType rows172 = core::isQuantizedGgmlType(t) ? GgmlType::F16 : t;
        const GgmlType head = core::isQuantizedGgmlType(t) ? GgmlType::Q8_0 : t;
        for (const auto& info : r->tensors()) {
            const GgmlType want = info.ne.size() == 1                               ? GgmlType::F32
                                  : info.name == "token_embd.weight"                 ? head
                                  : info.name.find("ffn_down") != std::string::npos ? rows172
                                                                                     : rows64;
            QVERIFY2(info.type == want, info.name.c_str());
        }
        QCOMPARE(uintKey(*r, "general.file_type"), std::uint64_t(core::ggufFileType(t)));
        QCOMPARE(r->find("general.quantization_version") != nullptr, core::isQuantizedGgmlType(t));
        const auto check = core::checkGgufExport(*r, *model, evalTokens(dir, 4, 64), 64);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems.front().c_str());
        QCOMPARE(check.tensors.size(), std::size_t(47));
        QVERIFY(check.logits.has_value());
        QVERIFY(check.logits->top1Agreement >= core::ggufMinTop1Agreement(check.mainType));
        if (t == GgmlType::F32) QCOMPARE(check.logits->maxAbsDiff, 0.0);
    }

    void bundledModelMetadataKeyByKey() {
        const auto dir = test::bundledModelDir();
        const auto model = loadModel(dir);
        const auto file = test::freshScratchDir("gguf-meta") / "m.gguf";
        (void)core::exportGguf(*model, dir, file, {.type = GgmlType::Q8_0, .name = "stories", .outputType = {}});
        const auto r = core::GgufReader::open(file);
        QCOMPARE(r->version(), 3u);
        QCOMPARE(r->metadata()[0].first, std::string("general.architecture"));
        QCOMPARE(stringKey(*r, "general.architecture"), std::string("llama"));
        QCOMPARE(stringKey(*r, "general.name"), std::string("stories"));
        QCOMPARE(uintKey(*r, "general.alignment"), std::uint64_t(32));
        QCOMPARE(uintKey(*r, "general.quantization_version"), std::uint64_t(2));
        QCOMPARE(uintKey(*r, "general.file_type"), std::uint64_t(7));  // MOSTLY_Q8_0
        QCOMPARE(uintKey(*r, "llama.context_length"), std::uint64_t(512));
        QCOMPARE(uintKey(*r, "llama.embedding_length"), std::uint64_t(64));
        QCOMPARE(uintKey(*r, "llama.block_count"), std::uint64_t(5));
        QCOMPARE(uintKey(*r, "llama.feed_forward_length"), std::uint64_t(172));
        QCOMPARE(uintKey(*r, "llama.attention.head_count"), std::uint64_t(8));
        QCOMPARE(uintKey(*r, "llama.attention.head_count_kv"), std::uint64_t(4));
        QCOMPARE(uintKey(*r, "llama.rope.dimension_count"), std::uint64_t(8));
        QCOMPARE(uintKey(*r, "llama.vocab_size"), std::uint64_t(512));
        QCOMPARE(r->find("llama.attention.layer_norm_rms_epsilon")->type, core::GgufValueType::F32);
        QCOMPARE(float(*r->find("llama.attention.layer_norm_rms_epsilon")->asNumber()), 1e-5f);
        QCOMPARE(*r->find("llama.rope.freq_base")->asNumber(), 10000.0);
        QVERIFY(!r->find("llama.attention.key_length"));  // head_dim = hidden / heads
        QVERIFY(!r->find("llama.rope.scaling.type"));
        // The SentencePiece vocabulary: 512 pieces with their scores and types, BOS 1 added, EOS 2.
        QCOMPARE(stringKey(*r, "tokenizer.ggml.model"), std::string("llama"));
        QCOMPARE(stringKey(*r, "tokenizer.ggml.pre"), std::string("default"));
        const auto& tokens = *r->find("tokenizer.ggml.tokens")->asArray();
        const auto& scores = *r->find("tokenizer.ggml.scores")->asArray();
        const auto& types = *r->find("tokenizer.ggml.token_type")->asArray();
        QCOMPARE(tokens.size(), std::size_t(512));
        QCOMPARE(scores.size(), std::size_t(512));
        QCOMPARE(types.size(), std::size_t(512));
        QCOMPARE(r->find("tokenizer.ggml.token_type")->arrayType, core::GgufValueType::I32);
        QCOMPARE(*tokens[0].asString(), std::string("<unk>"));
        QCOMPARE(*types[0].asNumber(), 2.0);  // unknown
        QCOMPARE(*tokens[1].asString(), std::string("<s>"));
        QCOMPARE(*types[1].asNumber(), 3.0);  // control
        QCOMPARE(*tokens[3].asString(), std::string("<0x00>"));
        QCOMPARE(*types[3].asNumber(), 6.0);  // byte
        const auto tokenizer = core::Tokenizer::load(dir);
        for (int id : {403, 407, 261, 378}) {  // "Once upon a time"
            QCOMPARE(*tokens[std::size_t(id)].asString(), tokenizer->piece(id));
            QCOMPARE(*types[std::size_t(id)].asNumber(), 1.0);
        }
        QVERIFY(*scores[403].asNumber() < 0.0);
        QVERIFY(!r->find("tokenizer.ggml.merges"));
        QCOMPARE(uintKey(*r, "tokenizer.ggml.bos_token_id"), std::uint64_t(1));
        QCOMPARE(uintKey(*r, "tokenizer.ggml.eos_token_id"), std::uint64_t(2));
        QCOMPARE(*r->find("tokenizer.ggml.add_bos_token")->asBool(), true);
        QCOMPARE(*r->find("tokenizer.ggml.add_eos_token")->asBool(), false);
        QVERIFY(!r->findTensor("output.weight"));  // tied: llama.cpp reads token_embd
    }

    void familiesExportAndCheck_data() {
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("arch");
        for (const auto& [f, a] : std::vector<std::pair<const char*, const char*>>{{"llama2", "llama"},
                                                                                  {"llama3_rope", "llama"},
                                                                                  {"linear_rope", "llama"},
                                                                                  {"yarn_rope", "llama"},
                                                                                  {"dynamic_rope", "llama"},
                                                                                  {"mistral_window", "llama"},
                                                                                  {"qwen2_bias", "qwen2"},
                                                                                  {"qwen3_qknorm", "qwen3"}})
            QTest::newRow(f) << QString(f) << QString(a);
    }
    void familiesExportAndCheck() {
        QFETCH(QString, family);
        QFETCH(QString, arch);
        const auto dir = test::familyModelWithTokenizer(family.toStdString());
        const auto model = loadModel(dir);
        const auto& c = model->config();
        const auto file = dir / "m.gguf";
        const auto report = core::exportGguf(*model, dir, file, {.type = GgmlType::F32, .name = {}, .outputType = {}});
        const auto r = core::GgufReader::open(file);
        const std::string a = arch.toStdString();
        QCOMPARE(stringKey(*r, "general.architecture"), a);
        const auto check = core::checkGgufExport(*r, *model, randomTokens(c.vocabSize, 2 * 24, 5), 24);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems.front().c_str());
        QCOMPARE(check.logits->maxAbsDiff, 0.0);  // F32: the same weights, the same forward
        QCOMPARE(stringKey(*r, "tokenizer.ggml.model"), std::string("gpt2"));
        QCOMPARE(stringKey(*r, "tokenizer.ggml.pre"), std::string("gpt-2"));
        QCOMPARE(r->find("tokenizer.ggml.merges")->asArray()->size(), std::size_t(2));
        QCOMPARE(r->find("tokenizer.ggml.tokens")->asArray()->size(), std::size_t(320));
        QCOMPARE(uintKey(*r, "tokenizer.ggml.bos_token_id"), std::uint64_t(*c.bosTokenId));

        // q rows: llama.cpp's pair order for "llama", the checkpoint's order for qwen2/qwen3.
        const MatrixRM q = model->layer(0)->linear(core::ModuleKind::Q)->denseWeight();
        const MatrixRM fileQ = r->dequantize(*r->findTensor("blk.0.attn_q.weight"));
        const MatrixRM wantQ = a == "llama" ? core::ggufPermuteQk(q, c.numHeads) : q;
        QCOMPARE(maxAbsDiff(fileQ, wantQ), 0.0f);
        QCOMPARE(r->findTensor("output.weight") != nullptr, !c.tieWordEmbeddings);
        QCOMPARE(r->findTensor("blk.1.attn_q.bias") != nullptr, a == "qwen2");
        QCOMPARE(r->findTensor("blk.1.attn_k_norm.weight") != nullptr, a == "qwen3");
        QCOMPARE(r->find(a + ".attention.key_length") != nullptr, a == "qwen3");  // head_dim 32 ≠ 64/4
        if (a == "qwen3") QCOMPARE(uintKey(*r, "qwen3.attention.key_length"), std::uint64_t(32));
        if (family == "llama3_rope") {
            // factor 8, low 1, high 4 over L = 64 and θ = base^(−2i/16): long wavelengths are divided by 8.
            const MatrixRM f = r->dequantize(*r->findTensor("rope_freqs.weight"));
            QCOMPARE(f.cols(), Index(8));
            QCOMPARE(f(0, 0), 1.0f);
            QCOMPARE(f(0, 7), 8.0f);
        } else QVERIFY(!r->findTensor("rope_freqs.weight"));
        if (family == "linear_rope") {
            QCOMPARE(stringKey(*r, "llama.rope.scaling.type"), std::string("linear"));
            QCOMPARE(*r->find("llama.rope.scaling.factor")->asNumber(), 4.0);
        }
        if (family == "yarn_rope") {
            QCOMPARE(stringKey(*r, "llama.rope.scaling.type"), std::string("yarn"));
            QCOMPARE(uintKey(*r, "llama.rope.scaling.original_context_length"), std::uint64_t(64));
        }
        const bool warned = std::any_of(report.warnings.begin(), report.warnings.end(),
                                        [](const std::string& w) { return w.find("sliding_window") != std::string::npos || w.find("dynamic") != std::string::npos; });
        QCOMPARE(warned, family == "mistral_window" || family == "dynamic_rope");
    }

    void quantizedFamilyExportPassesTheCheck() {
        // Q8_0 on a family with 160-wide MLP rows: every matrix quantized (160 = 5 blocks).
        const auto dir = test::familyModelWithTokenizer("qwen2_bias");
        const auto model = loadModel(dir);
        const auto file = dir / "q8.gguf";
        (void)core::exportGguf(*model, dir, file, {.type = GgmlType::Q8_0, .name = {}, .outputType = {}});
        const auto r = core::GgufReader::open(file);
        QCOMPARE(r->findTensor("blk.0.ffn_down.weight")->type, GgmlType::Q8_0);
        QCOMPARE(r->findTensor("blk.0.attn_q.bias")->type, GgmlType::F32);
        const auto check = core::checkGgufExport(*r, *model, randomTokens(320, 48, 9), 24);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems.front().c_str());
        QVERIFY(check.logits->maxAbsDiff > 0.0);
    }

    void kQuantsAndPermutedBiasesOnAWideModel_data() {
        QTest::addColumn<int>("type");
        for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::F32}) QTest::newRow(core::ggmlTypeName(t).c_str()) << int(t);
    }
    void kQuantsAndPermutedBiasesOnAWideModel() {
        // 256-wide rows take K blocks without fallback; the llama q/k biases follow their rows'
        // RoPE order (checked exactly in F32).
        QFETCH(int, type);
        const GgmlType t = GgmlType(type);
        const auto dir = wideLlamaWithBiases();
        const auto model = loadModel(dir);
        const auto file = dir / "wide.gguf";
        const auto report = core::exportGguf(*model, dir, file, {.type = t, .name = {}, .outputType = {}});
        QVERIFY(report.warnings.empty());
        const auto r = core::GgufReader::open(file);
        // The untied head takes Q6_K (llama-quantize's output type); token_embd the type asked.
        for (const auto& info : r->tensors()) {
            const GgmlType want = info.ne.size() == 1 ? GgmlType::F32 : info.name == "output.weight" && t != GgmlType::F32 ? GgmlType::Q6_K : t;
            QVERIFY2(info.type == want, info.name.c_str());
        }
        const auto check = core::checkGgufExport(*r, *model, randomTokens(512, 2 * 32, 3), 32);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems.front().c_str());
        QCOMPARE(check.tensors.size(), std::size_t(1 + 2 * 12 + 2));
        if (t == GgmlType::F32) {
            const auto& qb = *model->layer(1)->linear(core::ModuleKind::Q)->bias();
            const MatrixRM fileBias = r->dequantize(*r->findTensor("blk.1.attn_q.bias"));
            const MatrixRM want = core::ggufPermuteQk(MatrixRM(qb), 4);
            for (Index i = 0; i < 256; ++i) QCOMPARE(fileBias(0, i), want(i, 0));
            QVERIFY(fileBias(0, 1) != qb(1));  // moved: row 1 of head 0 is row 32 of the checkpoint
        }
    }

    void q4_1MatchesTheReferenceAtARoundingTie() {
        // Block 306 of layer 2's up_proj (row 153, columns 0-31) has x − min scaled to exactly
        // 0.5 − 2⁻²⁵, which float32 rounds to a tie at 1.0: gguf-py's quantize (numpy, unfused) gives
        // these bytes; a fused multiply-add would write 0x05 at byte 14.
        const auto ckpt = core::Checkpoint::open(test::bundledModelDir());
        const MatrixRM up = ckpt->loadMatrix("model.layers.2.mlp.up_proj.weight", 172, 64);
        std::vector<std::uint8_t> out(20);
        core::ggufPackRow(GgmlType::Q4_1, up.data() + 153 * 64, 32, out.data());
        const std::vector<std::uint8_t> want = {181, 38, 236, 177, 103, 215, 22, 6, 207, 237, 118, 6, 132, 139, 21, 175, 34, 39, 140, 53};
        QCOMPARE(out, want);
    }

    void checkFailsOnACorruptedBlock() {
        const auto dir = test::bundledModelDir();
        const auto model = loadModel(dir);
        const auto file = test::freshScratchDir("gguf-corrupt") / "m.gguf";
        (void)core::exportGguf(*model, dir, file, {.type = GgmlType::Q4_0, .name = {}, .outputType = {}});
        std::uint64_t at = 0;
        {
            const auto r = core::GgufReader::open(file);
            at = r->findTensor("blk.2.attn_k.weight")->fileOffset + 18 * 3 + 5;  // a nibble pair inside block 3
        }
        const std::uint8_t garbage = 0x0f;
        overwrite(file, at, &garbage, 1);
        const auto r = core::GgufReader::open(file);
        const auto check = core::checkGgufExport(*r, *model, {}, 0);
        QVERIFY(!check.ok());
        QCOMPARE(check.problems.size(), std::size_t(1));
        QVERIFY2(check.problems[0].find("blk.2.attn_k.weight") != std::string::npos, check.problems[0].c_str());
    }

    void checkFailsWhenQkRowsAreNotInLlamaCppOrder() {
        // The file as an exporter without the permutation would write it: the check sees both the
        // weights and the logits go wrong.
        const auto dir = test::bundledModelDir();
        const auto model = loadModel(dir);
        const auto file = test::freshScratchDir("gguf-unpermuted") / "m.gguf";
        (void)core::exportGguf(*model, dir, file, {.type = GgmlType::F32, .name = {}, .outputType = {}});
        std::uint64_t at = 0;
        {
            const auto r = core::GgufReader::open(file);
            at = r->findTensor("blk.0.attn_q.weight")->fileOffset;
        }
        const MatrixRM q = model->layer(0)->linear(core::ModuleKind::Q)->denseWeight();
        overwrite(file, at, q.data(), std::size_t(q.size()) * sizeof(float));
        const auto r = core::GgufReader::open(file);
        const auto check = core::checkGgufExport(*r, *model, evalTokens(dir, 2, 64), 64);
        QVERIFY(!check.ok());
        QVERIFY(check.problems[0].find("blk.0.attn_q.weight") != std::string::npos);
        QVERIFY(check.logits->maxAbsDiff > 0.01);
    }

    void unwritableOutputNamesTheFileAndLeavesNothing() {
        const auto dir = test::bundledModelDir();
        const auto model = loadModel(dir);
        const auto file = test::freshScratchDir("gguf-unwritable") / "no-such-folder" / "m.gguf";
        try {
            (void)core::exportGguf(*model, dir, file, {});
            QFAIL("no error");
        } catch (const core::Error& e) {
            QVERIFY2(QString(e.what()).startsWith(QString::fromStdString(file.string()) + ": "), e.what());
        }
        // Cancelled: neither the file nor its temp name stays.
        const auto out = test::freshScratchDir("gguf-cancel") / "m.gguf";
        core::RunContext ctx;
        ctx.requestStop();
        QVERIFY_THROWS_EXCEPTION(core::Cancelled, (void)core::exportGguf(*model, dir, out, {}, &ctx));
        QVERIFY(!std::filesystem::exists(out));
        QVERIFY(std::filesystem::is_empty(out.parent_path()));  // nor its temp ("m.gguf.tmp-<pid>")
    }

    // llama-quantize's output type (llama_tensor_get_type: Q6_K, Q8_0 when ne[0] % 256 != 0 or
    // when Q8_0 is asked; float files untouched).
    void outputHeadTypeFollowsLlamaQuantize_data() {
        QTest::addColumn<int>("wanted");
        QTest::addColumn<int>("cols");
        QTest::addColumn<int>("want");
        QTest::addColumn<bool>("noted");
        QTest::newRow("Q4_1 256") << int(GgmlType::Q4_1) << 256 << int(GgmlType::Q6_K) << true;
        QTest::newRow("Q4_1 64") << int(GgmlType::Q4_1) << 64 << int(GgmlType::Q8_0) << true;
        QTest::newRow("Q4_K 2048") << int(GgmlType::Q4_K) << 2048 << int(GgmlType::Q6_K) << true;
        QTest::newRow("Q6_K 2048") << int(GgmlType::Q6_K) << 2048 << int(GgmlType::Q6_K) << false;
        QTest::newRow("Q8_0 2048") << int(GgmlType::Q8_0) << 2048 << int(GgmlType::Q8_0) << false;
        QTest::newRow("F16 64") << int(GgmlType::F16) << 64 << int(GgmlType::F16) << false;
        QTest::newRow("Q4_0 100") << int(GgmlType::Q4_0) << 100 << int(GgmlType::F16) << true;
    }
    void outputHeadTypeFollowsLlamaQuantize() {
        QFETCH(int, wanted);
        QFETCH(int, cols);
        QFETCH(int, want);
        QFETCH(bool, noted);
        std::string note;
        QCOMPARE(int(core::ggufOutputType(GgmlType(wanted), cols, note)), want);
        QCOMPARE(!note.empty(), noted);
    }

    void outputTypeOptionSetsTheTiedHead() {
        // --output-tensor-type: the tied token_embd takes the type asked (here F16), the layers Q4_0.
        const auto dir = test::bundledModelDir();
        const auto model = loadModel(dir);
        const auto file = test::freshScratchDir("gguf-output-type") / "m.gguf";
        const auto report = core::exportGguf(*model, dir, file, {.type = GgmlType::Q4_0, .name = {}, .outputType = GgmlType::F16});
        QVERIFY(report.warnings.size() == 5);  // the five 172-wide ffn_down only
        const auto r = core::GgufReader::open(file);
        QCOMPARE(r->findTensor("token_embd.weight")->type, GgmlType::F16);
        QCOMPARE(r->findTensor("blk.0.attn_q.weight")->type, GgmlType::Q4_0);
    }

    void typeNamesParse() {
        QCOMPARE(*core::parseGgmlType("q4_k"), GgmlType::Q4_K);
        QCOMPARE(*core::parseGgmlType("BF16"), GgmlType::BF16);
        QVERIFY(!core::parseGgmlType("Q3_K"));
        QCOMPARE(core::ggmlTypeNamesText(), std::string("F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K"));
    }
};

QTEST_GUILESS_MAIN(TestGgufExport)
#include "test_gguf_export.moc"

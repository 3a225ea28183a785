#include "core/kernels/model_bench.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/kernels/fp16_linear.h"
#include "core/model/decode.h"
#include "core/quant/quantized_checkpoint.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

// Drops the mapped pages of every tensor whose name starts with prefix.
void releaseTensors(const Checkpoint& ckpt, const std::string& prefix) {
    for (const TensorInfo* t : ckpt.tensors())
        if (t->name.compare(0, prefix.size(), prefix) == 0) ckpt.release(t->name);
}

LinearPtr loadHead(const Checkpoint& ckpt, const ModelConfig& c, BenchPrecision precision) {
    const std::string name = "lm_head.weight";
    const TensorInfo& t = ckpt.get(name);
    LinearPtr head;
    if (t.dtype == DType::F16 && t.shape == std::vector<std::int64_t>{c.vocabSize, c.hiddenSize}) {
        head = std::make_shared<Fp16Linear>(reinterpret_cast<const std::uint16_t*>(t.data), c.vocabSize, c.hiddenSize);
    } else {
        MatrixRM W = ckpt.loadMatrix(name, c.vocabSize, c.hiddenSize);
        if (precision == BenchPrecision::Fp16)
            head = std::make_shared<Fp16Linear>(W);
        else
            head = std::make_shared<DenseLinear>(std::move(W));
    }
    ckpt.release(name);
    return head;
}

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// timeGreedyDecode() with progress and cancel: prefill `repeats` times (median kept), then
// genTokens greedy steps, polling ctx before each prefill and each step.
DecodeTiming timeDecodeWithContext(const LlamaModel& model, const std::vector<int>& prompt, int genTokens, int repeats,
                                   const RunContext& ctx) {
    KvDecoder decoder(model, Index(prompt.size()) + genTokens);  // throws beyond the context
    DecodeTiming t;
    t.promptTokens = int(prompt.size());
    const double total = double(std::max(1, repeats) + genTokens);
    std::vector<double> prefills;
    VectorF logits;
    for (int r = 0; r < std::max(1, repeats); ++r) {
        ctx.throwIfStopped();
        ctx.progress(double(r) / total, "prefill");
        decoder.reset();
        const auto t0 = Clock::now();
        logits = decoder.prefill(prompt);
        prefills.push_back(secondsSince(t0));
    }
    t.prefillSeconds = median(prefills);
    for (int s = 0; s < genTokens; ++s) {
        const int next = int(std::max_element(logits.data(), logits.data() + logits.size()) - logits.data());
        t.tokens.push_back(next);
        if (s + 1 == genTokens) break;
        ctx.throwIfStopped();
        if (s % 8 == 0) ctx.progress(double(std::max(1, repeats) + s) / total, "decode");
        const auto t0 = Clock::now();
        logits = decoder.step(next);
        t.stepSeconds.push_back(secondsSince(t0));
    }
    t.generatedTokens = int(t.tokens.size());
    ctx.progress(1.0, "decode");
    return t;
}

// What the child sends back through its pipe.
struct ChildReport {
    int ok = 0;
    double prefill = 0, decodeMedian = 0, decodeMean = 0, load = 0;
    std::uint64_t weightBytes = 0;
    char message[1024] = {};
};

void writeAll(int fd, const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        p += w;
        n -= std::size_t(w);
    }
}

}  // namespace

std::shared_ptr<LlamaModel> loadModelForBench(const std::filesystem::path& dir, BenchPrecision precision) {
    const auto ckpt = Checkpoint::open(dir);
    const ModelConfig& c = ckpt->config();
    LinearFactory stored = quantizedLinearFactory(c, (dir / "config.json").string());
    if (!stored) stored = makeDenseLinear;
    LinearFactory factory = stored;
    if (precision == BenchPrecision::Fp16)
        factory = [stored](const Checkpoint& ck, const std::string& name, Index out, Index in) {
            return Fp16Linear::fromLinear(*stored(ck, name, out, in));
        };
    // An F16 embedding stays F16 in both configurations (EmbeddingTable), as deployed runtimes keep it.
    const auto embedding = EmbeddingTable::load(ckpt, "model.embed_tokens.weight", c.vocabSize, c.hiddenSize);
    ckpt->release("model.embed_tokens.weight");
    const VectorF finalNorm = ckpt->loadVector("model.norm.weight", c.hiddenSize);
    LinearPtr head;
    if (!c.tieWordEmbeddings)
        head = withErrorContext(ckpt->fileOf("lm_head.weight").string(), [&] { return loadHead(*ckpt, c, precision); });
    else if (precision == BenchPrecision::Fp16 && !embedding->isBf16())
        head = std::make_shared<Fp16Linear>(embedding->dense());
    // A BF16 table is already 2 bytes per weight: both configurations read it in place
    // (fromParts' EmbeddingHead), with no float32 copy.
    std::vector<std::shared_ptr<const DecoderLayer>> layers;
    for (int i = 0; i < c.numLayers; ++i) {
        layers.push_back(withErrorContext("loading layer " + std::to_string(i), [&] { return loadDecoderLayer(*ckpt, i, factory); }));
        releaseTensors(*ckpt, "model.layers." + std::to_string(i) + ".");
    }
    return LlamaModel::fromParts(c, embedding, std::move(layers), finalNorm, head);
}

std::vector<int> benchPrompt(const ModelConfig& config, int tokens) {
    std::vector<int> p;
    p.push_back(config.bosTokenId.value_or(1));
    const int span = std::max(1, config.vocabSize - 3);
    for (int i = 1; i < tokens; ++i) p.push_back(3 + int((std::uint64_t(i) * 7919u + 13u) % std::uint64_t(span)));
    return p;
}

std::uint64_t modelWeightBytes(const LlamaModel& model) {
    const ModelConfig& c = model.config();
    std::uint64_t n = model.embedding().storageBytes() + std::uint64_t(model.finalNorm().size()) * sizeof(float);
    if (!c.tieWordEmbeddings) n += model.lmHead().storageBytes();
    for (int i = 0; i < c.numLayers; ++i) n += model.layer(i)->storageBytes();
    return n;
}

std::shared_ptr<LlamaModel> toFp16Model(const LlamaModel& model, const RunContext& ctx) {
    const ModelConfig& c = model.config();
    std::vector<std::shared_ptr<const DecoderLayer>> layers;
    for (int i = 0; i < c.numLayers; ++i) {
        ctx.throwIfStopped();
        ctx.progress(double(i) / c.numLayers, "rounding linears to F16");
        auto layer = std::make_shared<DecoderLayer>(*model.layer(i));  // norms copied, linears replaced
        for (const auto kind : kAllModuleKinds) layer->linear(kind) = Fp16Linear::fromLinear(*layer->linear(kind));
        layers.push_back(std::move(layer));
    }
    LinearPtr head = Fp16Linear::fromLinear(model.lmHead());
    return LlamaModel::fromParts(c, model.embeddingPtr(), std::move(layers), model.finalNorm(), std::move(head));
}

ModelBenchFigures measureInMemoryModel(const LlamaModel& model, const ModelBenchOptions& o, const RunContext& ctx) {
    if (o.promptTokens < 1 || o.genTokens < 1) throw Error("bench: --prompt-tokens and --gen-tokens must be at least 1");
    ModelBenchFigures f;
    f.weightBytes = modelWeightBytes(model);
    const std::vector<int> prompt = benchPrompt(model.config(), o.promptTokens);
    // A short warm-up (page faults of the caches and scratch buffers), then the measured run.
    ctx.progress(0.0, "warm-up");
    (void)timeGreedyDecode(model, std::vector<int>(prompt.begin(), prompt.begin() + std::min<int>(8, o.promptTokens)), 3);
    const DecodeTiming t = timeDecodeWithContext(model, prompt, o.genTokens, o.prefillRepeats, ctx);
    f.prefillTokensPerSecond = t.prefillTokensPerSecond();
    f.decodeMsPerToken = t.decodeMsPerTokenMedian();
    f.decodeMsPerTokenMean = t.decodeMsPerTokenMean();
    return f;
}

ModelBenchFigures measureModel(const ModelBenchOptions& o, BenchPrecision precision) {
    if (o.promptTokens < 1 || o.genTokens < 1) throw Error("bench: --prompt-tokens and --gen-tokens must be at least 1");
    const auto t0 = Clock::now();
    const auto model = loadModelForBench(o.model, precision);
    const double loadSeconds = secondsSince(t0);
    ModelBenchFigures f = measureInMemoryModel(*model, o);
    f.loadSeconds = loadSeconds;
    return f;
}

ModelBenchFigures measureModelIsolated(const ModelBenchOptions& o, BenchPrecision precision) {
    int fds[2];
    if (::pipe(fds) != 0) throw Error(std::string("bench: pipe failed: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) throw Error(std::string("bench: fork failed: ") + std::strerror(errno));
    if (pid == 0) {  // child: measure, report, leave without running the parent's destructors
        ::close(fds[0]);
        ChildReport r;
        try {
            const ModelBenchFigures f = measureModel(o, precision);
            r = {1, f.prefillTokensPerSecond, f.decodeMsPerToken, f.decodeMsPerTokenMean, f.loadSeconds, f.weightBytes, {}};
        } catch (const std::exception& e) {
            std::strncpy(r.message, e.what(), sizeof r.message - 1);
        }
        writeAll(fds[1], &r, sizeof r);
        ::close(fds[1]);
        ::_exit(r.ok ? 0 : 1);
    }
    ::close(fds[1]);
    ChildReport r;
    std::size_t got = 0;
    while (got < sizeof r) {
        const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&r) + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += std::size_t(n);
    }
    ::close(fds[0]);
    int status = 0;
    struct rusage usage {};
    while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    if (got != sizeof r) {
        const std::string why = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status)) +
                                                          (WTERMSIG(status) == SIGKILL ? " (out of memory?)" : "")
                                                    : "exited without a report";
        throw Error("bench: the measuring process " + why);
    }
    if (!r.ok) throw Error(r.message);
    ModelBenchFigures f;
    f.prefillTokensPerSecond = r.prefill;
    f.decodeMsPerToken = r.decodeMedian;
    f.decodeMsPerTokenMean = r.decodeMean;
    f.loadSeconds = r.load;
    f.weightBytes = r.weightBytes;
    f.peakRssBytes = std::uint64_t(usage.ru_maxrss) * 1024u;  // Linux: kilobytes
    return f;
}

}  // namespace qb::core

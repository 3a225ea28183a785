#include "core/store/run_protocol.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/backend/backend.h"
#include "core/io/checkpoint.h"
#include "core/kernels/cpu_features.h"
#include "core/util/sha256.h"

#ifndef QB_GIT_COMMIT
#define QB_GIT_COMMIT "unknown"
#endif

namespace qb::core {

namespace {

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) break;
        const std::size_t begin = line.find_first_not_of(" \t", colon + 1);
        return begin == std::string::npos ? std::string("unknown") : line.substr(begin);
    }
    return "unknown";
}

std::string isaDescription() {
    const kernels::CpuFeatures& f = kernels::cpuFeatures();
    std::string features;
    for (const auto& [has, name] : {std::pair{f.avx2, "avx2"}, {f.fma, "fma"}, {f.f16c, "f16c"}, {f.avx512vnni, "avx512vnni"}, {f.avx512vbmi, "avx512vbmi"}})
        if (has) features += (features.empty() ? "" : " ") + std::string(name);
    if (features.empty()) features = "baseline";
    return features + "; kernels " + kernels::kernelPathName(kernels::activeKernelPath());
}

/// "eval.txt (sha 1a2b3c4d…)"
std::string textWithSha(const std::string& name, const std::string& sha256) {
    return name + " (sha " + sha256.substr(0, 8) + "…)";
}

/// Appends "<what> <a> vs <b>" when a != b.
template <class T>
void differs(std::vector<std::string>& out, const std::string& what, const T& a, const T& b) {
    if (a == b) return;
    if constexpr (std::is_arithmetic_v<T>) out.push_back(what + " " + std::to_string(a) + " vs " + std::to_string(b));
    else out.push_back(what + " " + a + " vs " + b);
}

void compareEval(std::vector<std::string>& out, const EvalProtocol& a, const EvalProtocol& b) {
    if (a.sha256 != b.sha256)
        out.push_back("eval text differs: " + textWithSha(a.text, a.sha256) + " vs " + textWithSha(b.text, b.sha256));
    differs(out, "ctx", a.ctx, b.ctx);
    differs(out, "windows", a.windows, b.windows);
    differs(out, "stride", a.stride, b.stride);
    differs(out, "BOS", a.bos, b.bos);
}

void compareCalibration(std::vector<std::string>& out, const CalibrationProtocol& a, const CalibrationProtocol& b) {
    if (a.sha256 != b.sha256)
        out.push_back("calibration text differs: " + textWithSha(a.text, a.sha256) + " vs " + textWithSha(b.text, b.sha256));
    if (a.windows != b.windows || a.ctx != b.ctx)
        out.push_back("calibration " + std::to_string(a.windows) + " × " + std::to_string(a.ctx) + " vs " +
                      std::to_string(b.windows) + " × " + std::to_string(b.ctx) + " (windows × ctx)");
    differs(out, "calibration seed", a.seed, b.seed);
}

void compareEnvironment(std::vector<std::string>& out, const EnvironmentProtocol& a, const EnvironmentProtocol& b,
                        ProtocolScope scope) {
    if (scope != ProtocolScope::Quality) differs(out, "threads", a.threads, b.threads);
    differs(out, "CPU", a.cpu, b.cpu);
    differs(out, "ISA", a.isa, b.isa);
    differs(out, "backend", a.backend, b.backend);
    const std::string versionA = a.quantbenchVersion + " (" + a.gitCommit + ")";
    const std::string versionB = b.quantbenchVersion + " (" + b.gitCommit + ")";
    differs(out, "quantbench", versionA, versionB);
}

}  // namespace

EnvironmentProtocol currentEnvironment() {
    EnvironmentProtocol e;
    e.threads = threadCount();
    e.cpu = cpuModel();
    e.isa = isaDescription();
    const auto backend = BackendRegistry::instance().preferred();
    e.backend = backend ? backend->name() + ": " + backend->description() : std::string("cpu");
    e.quantbenchVersion = QB_VERSION;
    e.gitCommit = QB_GIT_COMMIT;
    return e;
}

EvalProtocol makeEvalProtocol(const std::filesystem::path& textFile, const std::string& text, int ctx, int windows,
                              bool bosPerDocument) {
    return {textFile.filename().string(), sha256Hex(text), ctx, windows, ctx, bosPerDocument ? "per-document" : "none"};
}

CalibrationProtocol makeCalibrationProtocol(const std::filesystem::path& textFile, const std::string& text, int windows,
                                            int ctx, std::uint64_t seed) {
    return {textFile.filename().string(), sha256Hex(text), windows, ctx, seed};
}

std::string checkpointDtype(const std::filesystem::path& modelDir) {
    const auto checkpoint = Checkpoint::open(modelDir);
    const std::string module = "model.layers.0.self_attn.q_proj";
    if (const TensorInfo* t = checkpoint->find(module + ".weight")) return dtypeName(t->dtype);
    return "quantized";
}

std::vector<std::string> compareProtocols(const Protocol& a, const Protocol& b, ProtocolScope scope) {
    std::vector<std::string> out;
    if (scope != ProtocolScope::Latency) {
        if (a.eval && b.eval) compareEval(out, *a.eval, *b.eval);
        if (a.baselineDtype && b.baselineDtype) differs(out, "baseline dtype", *a.baselineDtype, *b.baselineDtype);
    }
    if (a.calibration && b.calibration) compareCalibration(out, *a.calibration, *b.calibration);
    if (scope != ProtocolScope::Quality && a.bench && b.bench) {
        differs(out, "prompt tokens", a.bench->promptTokens, b.bench->promptTokens);
        differs(out, "generated tokens", a.bench->genTokens, b.bench->genTokens);
        differs(out, "prefill repeats", a.bench->prefillRepeats, b.bench->prefillRepeats);
    }
    compareEnvironment(out, a.environment, b.environment, scope);
    return out;
}

std::string protocolToJson(const Protocol& p) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    if (p.eval)
        j["eval"] = {{"text", p.eval->text},       {"sha256", p.eval->sha256},   {"ctx", p.eval->ctx},
                     {"windows", p.eval->windows}, {"stride", p.eval->stride}, {"bos", p.eval->bos}};
    if (p.baselineDtype) j["baseline_dtype"] = *p.baselineDtype;
    if (p.calibration)
        j["calibration"] = {{"text", p.calibration->text},
                            {"sha256", p.calibration->sha256},
                            {"windows", p.calibration->windows},
                            {"ctx", p.calibration->ctx},
                            {"seed", p.calibration->seed}};
    if (p.bench)
        j["bench"] = {{"prompt_tokens", p.bench->promptTokens},
                      {"gen_tokens", p.bench->genTokens},
                      {"prefill_repeats", p.bench->prefillRepeats}};
    const EnvironmentProtocol& e = p.environment;
    j["environment"] = {{"threads", e.threads},         {"cpu", e.cpu},
                        {"isa", e.isa},                 {"backend", e.backend},
                        {"quantbench_version", e.quantbenchVersion}, {"git_commit", e.gitCommit}};
    return j.dump();
}

}  // namespace qb::core

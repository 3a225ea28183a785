#include "core/store/protocol_io.h"

#include "core/store/hdf5_io.h"

namespace qb::core {

using namespace hdf5;

namespace {

constexpr const char* kProtocol = "protocol";

void writeEval(const H5::Group& g, const EvalProtocol& e) {
    writeAttribute(g, "text", e.text);
    writeAttribute(g, "sha256", e.sha256);
    writeAttribute(g, "ctx", std::int32_t(e.ctx));
    writeAttribute(g, "windows", std::int32_t(e.windows));
    writeAttribute(g, "stride", std::int32_t(e.stride));
    writeAttribute(g, "bos", e.bos);
}

EvalProtocol readEval(const H5::Group& g) {
    return {readStringAttribute(g, "text"),          readStringAttribute(g, "sha256"),
            readAttribute<std::int32_t>(g, "ctx"),   readAttribute<std::int32_t>(g, "windows"),
            readAttribute<std::int32_t>(g, "stride"), readStringAttribute(g, "bos")};
}

void writeCalibration(const H5::Group& g, const CalibrationProtocol& c) {
    writeAttribute(g, "text", c.text);
    writeAttribute(g, "sha256", c.sha256);
    writeAttribute(g, "windows", std::int32_t(c.windows));
    writeAttribute(g, "ctx", std::int32_t(c.ctx));
    writeAttribute(g, "seed", c.seed);
}

CalibrationProtocol readCalibration(const H5::Group& g) {
    return {readStringAttribute(g, "text"), readStringAttribute(g, "sha256"), readAttribute<std::int32_t>(g, "windows"),
            readAttribute<std::int32_t>(g, "ctx"), readAttribute<std::uint64_t>(g, "seed")};
}

void writeBench(const H5::Group& g, const BenchProtocol& b) {
    writeAttribute(g, "prompt_tokens", std::int32_t(b.promptTokens));
    writeAttribute(g, "gen_tokens", std::int32_t(b.genTokens));
    writeAttribute(g, "prefill_repeats", std::int32_t(b.prefillRepeats));
}

BenchProtocol readBench(const H5::Group& g) {
    return {readAttribute<std::int32_t>(g, "prompt_tokens"), readAttribute<std::int32_t>(g, "gen_tokens"),
            readAttribute<std::int32_t>(g, "prefill_repeats")};
}

void writeEnvironment(const H5::Group& g, const EnvironmentProtocol& e) {
    writeAttribute(g, "threads", std::int32_t(e.threads));
    writeAttribute(g, "cpu", e.cpu);
    writeAttribute(g, "isa", e.isa);
    writeAttribute(g, "backend", e.backend);
    writeAttribute(g, "quantbench_version", e.quantbenchVersion);
    writeAttribute(g, "git_commit", e.gitCommit);
}

EnvironmentProtocol readEnvironment(const H5::Group& g) {
    return {readAttribute<std::int32_t>(g, "threads"), readStringAttribute(g, "cpu"),
            readStringAttribute(g, "isa"),             readStringAttribute(g, "backend"),
            readStringAttribute(g, "quantbench_version"), readStringAttribute(g, "git_commit")};
}

}  // namespace

void writeProtocol(const H5::Group& run, const Protocol& p) {
    const H5::Group g = run.createGroup(kProtocol);
    if (p.eval) writeEval(g.createGroup("eval"), *p.eval);
    if (p.baselineDtype) writeAttribute(g, "baseline_dtype", *p.baselineDtype);
    if (p.calibration) writeCalibration(g.createGroup("calibration"), *p.calibration);
    if (p.bench) writeBench(g.createGroup("bench"), *p.bench);
    writeEnvironment(g.createGroup("environment"), p.environment);
}

std::optional<Protocol> readProtocol(const H5::Group& run) {
    if (!run.nameExists(kProtocol)) return std::nullopt;
    const H5::Group g = openGroup(run, kProtocol);
    Protocol p;
    if (g.nameExists("eval")) p.eval = readEval(openGroup(g, "eval"));
    if (g.attrExists("baseline_dtype")) p.baselineDtype = readStringAttribute(g, "baseline_dtype");
    if (g.nameExists("calibration")) p.calibration = readCalibration(openGroup(g, "calibration"));
    if (g.nameExists("bench")) p.bench = readBench(openGroup(g, "bench"));
    p.environment = readEnvironment(openGroup(g, "environment"));
    return p;
}

}  // namespace qb::core

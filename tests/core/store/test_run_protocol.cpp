// The protocol of a run (issue 13): its round trip through a session, the differences
// compareProtocols() names, this machine's environment, numbered runs appended to a session
// (created when missing, refused when unreadable, the file left as it was), and a session
// written before the protocol existed.
#include <QtTest>

#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "core/backend/backend.h"
#include "core/store/run_protocol.h"
#include "core/store/session_store.h"
#include "core/util/error.h"
#include "support/test_support.h"

using namespace qb::core;
namespace fs = std::filesystem;

namespace {

const std::string kEvalSha = "1a2b3c4d" + std::string(56, '0');
const std::string kWikiSha = "9f8e7d6c" + std::string(56, '1');

Protocol fullProtocol() {
    Protocol p;
    p.eval = EvalProtocol{"eval.txt", kEvalSha, 512, 4, 512, "per-document"};
    p.baselineDtype = "F16";
    p.calibration = CalibrationProtocol{"calib.txt", std::string(64, 'c'), 16, 256, 0xFFFFFFFFFFFFFFF1ull};
    p.bench = BenchProtocol{64, 32, 3};
    p.environment = {8, "AMD EPYC 7B13", "avx2 fma f16c; kernels avx2", "cpu (OpenMP)", "0.1.0", "abc1234"};
    return p;
}

SessionProvenance someProvenance() {
    SessionProvenance p;
    p.modelPath = "/models/stories260K";
    p.configSha256 = std::string(64, 'c');
    p.quantbenchVersion = "0.1.0";
    return p;
}

std::string readBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int filesIn(const fs::path& dir) {
    return int(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

const fs::path kOldSession = fs::path(QB_STORE_FIXTURES_DIR) / "session-v1-before-protocol.h5";

}  // namespace

class TestRunProtocol : public QObject {
    Q_OBJECT
private slots:
    // ---- the session file -------------------------------------------------------------------
    void protocolRoundTripsThroughASession() {
        Protocol evalOnly;
        evalOnly.eval = EvalProtocol{"wiki.txt", kWikiSha, 1024, 2, 1024, "none"};
        evalOnly.environment = {1, "unknown", "baseline; kernels scalar", "cpu", "0.2.0", "unknown"};
        SessionData d;
        d.provenance = someProvenance();
        d.runs.push_back({"run-1", "", "", {{"perplexity", 4.5}}, {}, "2025-02-01T00:00:01Z", fullProtocol(), "quantize", "/q", {}, {}, {}});
        d.runs.push_back({"run-2", "", "", {{"perplexity", 5.5}}, {}, "2025-02-01T00:00:02Z", evalOnly, "eval", "/m", {}, {}, {}});
        d.runs.push_back({"run-3", "", "", {}, {}, "2025-02-01T00:00:03Z", std::nullopt, "", "", {}, {}, {}});
        const fs::path file = qb::test::freshScratchDir("protocol_round_trip") / "s.h5";
        SessionStore::write(file, d);

        const SessionData back = SessionStore::read(file);
        QCOMPARE(int(back.runs.size()), 3);
        QVERIFY(back.runs[0].protocol.has_value());
        QVERIFY(*back.runs[0].protocol == fullProtocol());
        QCOMPARE(back.runs[0].protocol->calibration->seed, 0xFFFFFFFFFFFFFFF1ull);
        QCOMPARE(back.runs[0].command, std::string("quantize"));
        QCOMPARE(back.runs[0].modelPath, std::string("/q"));
        QVERIFY(back.runs[1].protocol.has_value());
        QVERIFY(*back.runs[1].protocol == evalOnly);
        QVERIFY(!back.runs[1].protocol->calibration && !back.runs[1].protocol->bench && !back.runs[1].protocol->baselineDtype);
        QVERIFY(!back.runs[2].protocol.has_value());
        QVERIFY(back.runs[2].command.empty());
        // One run read alone carries its protocol too.
        QVERIFY(*SessionStore::readRun(file, "run-1").protocol == fullProtocol());
    }

    void protocolJsonHasTheSessionsKeys() {
        const auto j = nlohmann::json::parse(protocolToJson(fullProtocol()));
        QCOMPARE(j["eval"]["text"].get<std::string>(), std::string("eval.txt"));
        QCOMPARE(j["eval"]["sha256"].get<std::string>(), kEvalSha);
        QCOMPARE(j["eval"]["ctx"].get<int>(), 512);
        QCOMPARE(j["eval"]["windows"].get<int>(), 4);
        QCOMPARE(j["eval"]["stride"].get<int>(), 512);
        QCOMPARE(j["eval"]["bos"].get<std::string>(), std::string("per-document"));
        QCOMPARE(j["baseline_dtype"].get<std::string>(), std::string("F16"));
        QCOMPARE(j["calibration"]["seed"].get<std::uint64_t>(), 0xFFFFFFFFFFFFFFF1ull);
        QCOMPARE(j["calibration"]["windows"].get<int>(), 16);
        QCOMPARE(j["bench"]["prompt_tokens"].get<int>(), 64);
        QCOMPARE(j["environment"]["threads"].get<int>(), 8);
        QCOMPARE(j["environment"]["git_commit"].get<std::string>(), std::string("abc1234"));
        Protocol bare;
        const auto k = nlohmann::json::parse(protocolToJson(bare));
        QVERIFY(!k.contains("eval") && !k.contains("calibration") && !k.contains("bench") && !k.contains("baseline_dtype"));
        QVERIFY(k.contains("environment"));
    }

    // ---- compareProtocols -------------------------------------------------------------------
    void compareProtocolsNamesEachDifference_data() {
        QTest::addColumn<int>("change");
        QTest::addColumn<QString>("expected");
        QTest::newRow("eval text") << 0 << "eval text differs: eval.txt (sha 1a2b3c4d…) vs wiki.txt (sha 9f8e7d6c…)";
        QTest::newRow("ctx") << 1 << "ctx 512 vs 1024";
        QTest::newRow("windows") << 2 << "windows 4 vs 8";
        QTest::newRow("stride") << 3 << "stride 512 vs 256";
        QTest::newRow("bos") << 4 << "BOS per-document vs none";
        QTest::newRow("baseline dtype") << 5 << "baseline dtype F16 vs F32";
        QTest::newRow("calibration text") << 6 << "calibration text differs: calib.txt (sha cccccccc…) vs c4.txt (sha dddddddd…)";
        QTest::newRow("calibration shape") << 7 << "calibration 16 × 256 vs 32 × 256 (windows × ctx)";
        QTest::newRow("calibration seed") << 8 << "calibration seed 18446744073709551601 vs 1";
        QTest::newRow("prompt tokens") << 9 << "prompt tokens 64 vs 128";
        QTest::newRow("threads") << 10 << "threads 8 vs 16";
        QTest::newRow("cpu") << 11 << "CPU AMD EPYC 7B13 vs Intel Xeon";
        QTest::newRow("isa") << 12 << "ISA avx2 fma f16c; kernels avx2 vs avx2 fma f16c avx512vnni; kernels vnni";
        QTest::newRow("backend") << 13 << "backend cpu (OpenMP) vs cuda:0 (NVIDIA H200)";
        QTest::newRow("version") << 14 << "quantbench 0.1.0 (abc1234) vs 0.1.0 (def5678)";
    }
    void compareProtocolsNamesEachDifference() {
        QFETCH(int, change);
        QFETCH(QString, expected);
        const Protocol a = fullProtocol();
        Protocol b = a;
        switch (change) {
            case 0: b.eval->text = "wiki.txt", b.eval->sha256 = kWikiSha; break;
            case 1: b.eval->ctx = 1024; break;
            case 2: b.eval->windows = 8; break;
            case 3: b.eval->stride = 256; break;
            case 4: b.eval->bos = "none"; break;
            case 5: b.baselineDtype = "F32"; break;
            case 6: b.calibration->text = "c4.txt", b.calibration->sha256 = std::string(64, 'd'); break;
            case 7: b.calibration->windows = 32; break;
            case 8: b.calibration->seed = 1; break;
            case 9: b.bench->promptTokens = 128; break;
            case 10: b.environment.threads = 16; break;
            case 11: b.environment.cpu = "Intel Xeon"; break;
            case 12: b.environment.isa = "avx2 fma f16c avx512vnni; kernels vnni"; break;
            case 13: b.environment.backend = "cuda:0 (NVIDIA H200)"; break;
            case 14: b.environment.gitCommit = "def5678"; break;
        }
        const std::vector<std::string> d = compareProtocols(a, b);
        QCOMPARE(int(d.size()), 1);
        QCOMPARE(QString::fromStdString(d[0]), expected);
    }

    void equalProtocolsCompareCleanly() {
        QVERIFY(compareProtocols(fullProtocol(), fullProtocol()).empty());
    }

    void aSectionOnOneSideOnlyIsNoDifference() {
        // A baseline (no calibration, not benchmarked) against a quantized run: the figures they
        // share were measured the same way.
        Protocol baseline = fullProtocol();
        baseline.calibration.reset();
        baseline.bench.reset();
        baseline.baselineDtype.reset();
        QVERIFY(compareProtocols(baseline, fullProtocol()).empty());
        QVERIFY(compareProtocols(fullProtocol(), baseline).empty());
    }

    void theScopeKeepsTheDifferencesThatMatterToTheFigure() {
        Protocol b = fullProtocol();
        b.eval->ctx = 1024;
        b.environment.threads = 16;
        b.bench->genTokens = 64;
        const auto all = compareProtocols(fullProtocol(), b);
        QCOMPARE(all, (std::vector<std::string>{"ctx 512 vs 1024", "generated tokens 32 vs 64", "threads 8 vs 16"}));
        // Perplexity and KLD do not depend on threads or the latency workload ...
        QCOMPARE(compareProtocols(fullProtocol(), b, ProtocolScope::Quality), (std::vector<std::string>{"ctx 512 vs 1024"}));
        // ... and latency does not depend on the evaluation text.
        QCOMPARE(compareProtocols(fullProtocol(), b, ProtocolScope::Latency),
                 (std::vector<std::string>{"generated tokens 32 vs 64", "threads 8 vs 16"}));
    }

    // ---- this machine -----------------------------------------------------------------------
    void theEnvironmentDescribesThisProcess() {
        setThreadCount(3);
        const EnvironmentProtocol e = currentEnvironment();
        QCOMPARE(e.threads, 3);
        QVERIFY(!e.cpu.empty());
        QVERIFY2(e.isa.find("; kernels ") != std::string::npos, e.isa.c_str());
        const auto preferred = BackendRegistry::instance().preferred();
        QCOMPARE(e.backend, preferred->name() + ": " + preferred->description());
        QCOMPARE(e.quantbenchVersion, std::string(QB_VERSION));
        // The build's commit: short hex from git, or "unknown" outside a checkout.
        QVERIFY2(e.gitCommit == "unknown" || (e.gitCommit.size() >= 7 && e.gitCommit.find_first_not_of("0123456789abcdef") ==
                                                                              std::string::npos),
                 e.gitCommit.c_str());
    }

    void evalProtocolNamesTheFileAndHashesItsBytes() {
        const EvalProtocol e = makeEvalProtocol("/data/texts/eval.txt", "abc", 256, 3, true);
        QCOMPARE(e.text, std::string("eval.txt"));
        // SHA-256("abc"), FIPS 180-2 appendix B.1
        QCOMPARE(e.sha256, std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        QCOMPARE(e.stride, 256);
        QCOMPARE(e.bos, std::string("per-document"));
        QCOMPARE(makeEvalProtocol("e.txt", "abc", 256, 3, false).bos, std::string("none"));
        QCOMPARE(checkpointDtype(qb::test::bundledModelDir()), std::string("F32"));
    }

    // ---- appending numbered runs --------------------------------------------------------------
    void appendingCreatesTheSessionThenNumbersEachRun() {
        const fs::path dir = qb::test::freshScratchDir("protocol_append");
        const fs::path file = dir / "s.h5";
        SessionStore::checkAppendable(file);  // missing file, existing folder: fine
        RunRecord eval;
        eval.command = "eval";
        eval.metrics["perplexity"] = 4.25;
        eval.protocol = fullProtocol();
        QCOMPARE(SessionStore::appendNumberedRun(file, eval, someProvenance()), std::string("run-1"));
        RunRecord quantize;
        quantize.command = "quantize";
        quantize.planJson = R"({"default": {"method": "rtn", "bits": 4}})";
        quantize.moduleErrors["model.layers.0.mlp.up_proj"] = 0.25;
        QCOMPARE(SessionStore::appendNumberedRun(file, quantize, {}), std::string("run-2"));

        const SessionData d = SessionStore::read(file);
        QCOMPARE(d.provenance.modelPath, someProvenance().modelPath);  // from the first append only
        QCOMPARE(int(d.runs.size()), 2);
        QCOMPARE(d.runs[0].id, std::string("run-1"));
        QCOMPARE(d.runs[0].metrics.at("run_number"), 1.0);
        QCOMPARE(d.runs[0].metrics.at("perplexity"), 4.25);
        QVERIFY(d.runs[0].protocol && *d.runs[0].protocol == fullProtocol());
        QCOMPARE(d.runs[1].id, std::string("run-2"));
        QCOMPARE(d.runs[1].metrics.at("run_number"), 2.0);
        QCOMPARE(d.runs[1].planName, std::string("run-2"));
        QCOMPARE(d.runs[1].moduleErrors.at("model.layers.0.mlp.up_proj"), 0.25);
        QCOMPARE(SessionStore::readPlan(file, "run-2").json, quantize.planJson);
        QCOMPARE(filesIn(dir), 1);  // no temp file left
    }

    void appendingFollowsTheWorkbenchsNumbers() {
        // The workbench numbered its runs 1 and 5 (a cancelled job uses none; old sessions kept
        // internal ids): the next run is 6, after its baselines and numbered runs.
        SessionData d;
        d.provenance = someProvenance();
        d.runs.push_back({"baseline", "", "", {{"run_number", 0}, {"baseline", 1}}, {}, {}, {}, {}, {}, {}, {}, {}});
        d.runs.push_back({"run-1", "", "", {{"run_number", 1}}, {}, {}, {}, {}, {}, {}, {}, {}});
        d.runs.push_back({"run-5", "", "", {{"run_number", 5}}, {}, {}, {}, {}, {}, {}, {}, {}});
        const fs::path file = qb::test::freshScratchDir("protocol_append_numbers") / "s.h5";
        SessionStore::write(file, d);
        QCOMPARE(SessionStore::appendNumberedRun(file, RunRecord{}, {}), std::string("run-6"));
        QCOMPARE(SessionStore::runIds(file), (std::vector<std::string>{"baseline", "run-1", "run-5", "run-6"}));
    }

    void anUnreadableSessionIsRefusedAndLeftAsItWas() {
        const fs::path dir = qb::test::freshScratchDir("protocol_garbage");
        const fs::path file = dir / "garbage.h5";
        const std::string garbage = "this is not an HDF5 file\n" + std::string(3000, '\x7f');
        std::ofstream(file, std::ios::binary) << garbage;
        for (int attempt = 0; attempt < 2; ++attempt) {
            try {
                if (attempt == 0) SessionStore::checkAppendable(file);
                else (void)SessionStore::appendNumberedRun(file, RunRecord{}, someProvenance());
                QFAIL("an unreadable session was accepted");
            } catch (const Error& e) {
                const std::string what = e.what();
                QVERIFY2(what.rfind(file.string() + ": ", 0) == 0, e.what());
                QVERIFY2(what.find("not an HDF5 file") != std::string::npos, e.what());
                QVERIFY2(what.find('\n') == std::string::npos, e.what());
            }
        }
        QCOMPARE(readBytes(file), garbage);
        QCOMPARE(filesIn(dir), 1);
    }

    void aSessionInAMissingFolderIsRefused() {
        const fs::path file = qb::test::freshScratchDir("protocol_missing_folder") / "nowhere" / "s.h5";
        QVERIFY_THROWS_EXCEPTION(Error, SessionStore::checkAppendable(file));
    }

    // ---- sessions written before the protocol ------------------------------------------------
    void aSessionWrittenBeforeTheProtocolStillOpens() {
        const SessionData d = SessionStore::read(kOldSession);
        QCOMPARE(d.schemaVersion, 1);
        QCOMPARE(d.provenance.modelPath, std::string("resources/models/stories260K"));
        QCOMPARE(int(d.modules.size()), 1);
        QCOMPARE(int(d.runs.size()), 2);
        QCOMPARE(d.runs[0].id, std::string("baseline"));
        QCOMPARE(d.runs[0].metrics.at("perplexity"), 4.25);
        QCOMPARE(d.runs[1].id, std::string("run-1"));
        QCOMPARE(d.runs[1].metrics.at("decode_ms_per_token"), 0.75);
        QCOMPARE(d.runs[1].moduleErrors.at("model.layers.0.self_attn.q_proj"), 0.0125);
        for (const RunRecord& run : d.runs) {
            QVERIFY(!run.protocol.has_value());
            QVERIFY(run.command.empty() && run.modelPath.empty());
        }
    }

    void aRunAppendsToASessionWrittenBeforeTheProtocol() {
        const fs::path file = qb::test::freshScratchDir("protocol_old_append") / "old.h5";
        fs::copy_file(kOldSession, file);
        RunRecord run;
        run.protocol = fullProtocol();
        QCOMPARE(SessionStore::appendNumberedRun(file, run, {}), std::string("run-2"));
        const SessionData d = SessionStore::read(file);
        QCOMPARE(int(d.runs.size()), 3);
        QVERIFY(!d.runs[1].protocol);
        QCOMPARE(d.runs[1].metrics.at("perplexity"), 4.5);
        QVERIFY(d.runs[2].protocol && *d.runs[2].protocol == fullProtocol());
        QCOMPARE(int(d.modules.size()), 1);
    }
};

QTEST_GUILESS_MAIN(TestRunProtocol)
#include "test_run_protocol.moc"

// quantbench-cli --session (issue 13): eval, quantize and bench append their runs, with the
// protocol, to one HDF5 session (created by the first), and the values read back equal what
// --json printed; a session that cannot be read is one error line, before any work, and
// neither it nor anything else is written.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/store/session_store.h"
#include "core/util/sha256.h"
#include "support/cli_process.h"
#include "support/test_support.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

using test::CliRun;
using test::runCli;
using test::readBytes;

QString path(const fs::path& p) { return QString::fromStdString(p.string()); }

QJsonObject jsonOf(const QByteArray& out) { return QJsonDocument::fromJson(out).object(); }

/// The first documents of the bundled eval text (about 15 windows of 128 tokens), so that
/// quantize --eval stays fast.
fs::path smallEvalText(const fs::path& dir) {
    const std::string text = readBytes(test::bundledText("eval.txt"));
    const fs::path file = dir / "eval-small.txt";
    std::ofstream(file, std::ios::binary) << text.substr(0, text.find('\n', 8000) + 1);
    return file;
}

std::string absoluteFolder(const fs::path& dir) { return fs::absolute(dir).lexically_normal().string(); }

/// The protocol stored in the session, as the JSON object the CLI prints.
QJsonObject protocolJson(const core::RunRecord& run) {
    return QJsonDocument::fromJson(QByteArray::fromStdString(core::protocolToJson(*run.protocol))).object();
}

const std::string kPlan = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";

}  // namespace

class TestCliSession : public QObject {
    Q_OBJECT
private slots:
    void evalQuantizeAndBenchAppendThreeRunsToOneSession() {
        const fs::path dir = test::freshScratchDir("cli_session");
        const fs::path session = dir / "team.h5";
        const fs::path model = test::bundledModelDir();
        const fs::path evalText = test::bundledText("eval.txt");
        const fs::path small = smallEvalText(dir);
        std::ofstream(dir / "plan.json") << kPlan;

        const CliRun e = runCli({"eval", "--model", path(model), "--text", path(evalText), "--ctx", "128", "--max-windows", "2",
                                 "--threads", "2", "--session", path(session), "--json"});
        QCOMPARE(e.exitCode, 0);
        QCOMPARE(e.err, QByteArray());
        QVERIFY(fs::exists(session));  // created by the first run
        const CliRun q = runCli({"quantize", "--model", path(model), "--plan", path(dir / "plan.json"), "--calib",
                                 path(test::bundledText("calib.txt")), "--calib-windows", "4", "--calib-ctx", "128", "--out",
                                 path(dir / "q"), "--eval", path(small), "--eval-ctx", "128", "--threads", "2", "--session",
                                 path(session), "--json"});
        QCOMPARE(q.exitCode, 0);
        const CliRun b = runCli({"bench", "--model", path(dir / "q"), "--prompt-tokens", "16", "--gen-tokens", "8", "--threads",
                                 "2", "--session", path(session), "--json"});
        QCOMPARE(b.exitCode, 0);
        const QJsonObject je = jsonOf(e.out), jq = jsonOf(q.out), jb = jsonOf(b.out);
        QCOMPARE(je["session"].toObject()["run"].toString(), QStringLiteral("run-1"));
        QCOMPARE(jq["session"].toObject()["run"].toString(), QStringLiteral("run-2"));
        QCOMPARE(jb["session"].toObject()["run"].toString(), QStringLiteral("run-3"));

        const core::SessionData d = core::SessionStore::read(session);
        // The session is the model's, as the workbench opens it (an absolute folder).
        QCOMPARE(d.provenance.modelPath, absoluteFolder(model));
        QCOMPARE(d.provenance.configSha256, core::sha256FileHex(model / "config.json"));
        QCOMPARE(int(d.runs.size()), 3);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(d.runs[i].id, "run-" + std::to_string(i + 1));
            QCOMPARE(d.runs[i].metrics.at("run_number"), double(i + 1));
            QVERIFY(d.runs[i].protocol.has_value());
            QCOMPARE(d.runs[i].protocol->environment.threads, 2);
            QCOMPARE(d.runs[i].protocol->environment.quantbenchVersion, std::string(QB_VERSION));
        }

        // eval: perplexity on 2 windows of 128 and how it was measured.
        const core::RunRecord& ev = d.runs[0];
        QCOMPARE(ev.command, std::string("eval"));
        QCOMPARE(ev.modelPath, absoluteFolder(model));
        QCOMPARE(ev.metrics.at("perplexity"), je["perplexity"].toDouble());
        QCOMPARE(ev.metrics.at("loss"), je["loss"].toDouble());
        QCOMPARE(ev.metrics.at("predictions"), 2.0 * 127);
        QCOMPARE(ev.metrics.at("windows"), 2.0);
        QCOMPARE(ev.metrics.at("ctx"), 128.0);
        QCOMPARE(ev.metrics.at("bits_per_weight"), 32.0);  // the bundled model is F32
        const core::EvalProtocol& evp = *ev.protocol->eval;
        QCOMPARE(evp.text, std::string("eval.txt"));
        QCOMPARE(evp.sha256, core::sha256FileHex(evalText));
        QCOMPARE(evp.ctx, 128);
        QCOMPARE(evp.windows, 2);
        QCOMPARE(evp.stride, 128);
        QCOMPARE(evp.bos, std::string("per-document"));
        QVERIFY(!ev.protocol->calibration && !ev.protocol->bench && !ev.protocol->baselineDtype);
        QCOMPARE(protocolJson(ev), je["protocol"].toObject());

        // quantize: the plan, every module's error, size and the calibration protocol.
        const core::RunRecord& qr = d.runs[1];
        QCOMPARE(qr.command, std::string("quantize"));
        QCOMPARE(qr.modelPath, absoluteFolder(dir / "q"));
        QCOMPARE(qr.planJson, kPlan);
        QCOMPARE(qr.planName, std::string("run-2"));
        QCOMPARE(core::SessionStore::readPlan(session, "run-2").json, kPlan);
        const QJsonArray modules = jq["modules"].toArray();
        QCOMPARE(int(qr.moduleErrors.size()), int(modules.size()));
        QVERIFY(modules.size() > 0);
        for (const auto& m : modules)
            QCOMPARE(qr.moduleErrors.at(m.toObject()["name"].toString().toStdString()), m.toObject()["relative_error"].toDouble());
        QCOMPARE(qr.metrics.at("bits_per_weight"), jq["bits_per_weight"].toDouble());
        QCOMPARE(qr.metrics.at("bytes"), jq["linear_bytes"].toDouble());
        QCOMPARE(qr.metrics.at("perplexity"), jq["perplexity"].toDouble());
        const core::CalibrationProtocol& cal = *qr.protocol->calibration;
        QCOMPARE(cal.text, std::string("calib.txt"));
        QCOMPARE(cal.sha256, core::sha256FileHex(test::bundledText("calib.txt")));
        QCOMPARE(cal.windows, 4);
        QCOMPARE(cal.ctx, 128);
        QCOMPARE(cal.seed, std::uint64_t(0));
        QCOMPARE(qr.protocol->eval->text, std::string("eval-small.txt"));
        QCOMPARE(qr.protocol->eval->sha256, core::sha256FileHex(small));
        QCOMPARE(protocolJson(qr), jq["protocol"].toObject());

        // bench: the quantized model's latency against its FP16 version, and the workload.
        const core::RunRecord& br = d.runs[2];
        QCOMPARE(br.command, std::string("bench"));
        QCOMPARE(br.modelPath, absoluteFolder(dir / "q"));
        const QJsonObject bm = jb["model"].toObject(), bf = jb["fp16"].toObject();
        QCOMPARE(br.metrics.at("decode_ms_per_token"), bm["decode_ms_per_token"].toDouble());
        QCOMPARE(br.metrics.at("prefill_tokens_per_second"), bm["prefill_tokens_per_second"].toDouble());
        QCOMPARE(br.metrics.at("fp16_decode_ms_per_token"), bf["decode_ms_per_token"].toDouble());
        QCOMPARE(br.metrics.at("weight_bytes"), bm["weight_bytes"].toDouble());
        QCOMPARE(br.metrics.at("bench_prompt_tokens"), 16.0);
        QCOMPARE(br.metrics.at("bench_gen_tokens"), 8.0);
        QVERIFY(br.protocol->bench && br.protocol->bench->promptTokens == 16 && br.protocol->bench->genTokens == 8);
        QVERIFY(!br.protocol->eval);
        QCOMPARE(protocolJson(br), jb["protocol"].toObject());
        // Nothing else in the folder: no temp file left beside the session.
        QCOMPARE(int(std::distance(fs::directory_iterator(dir), fs::directory_iterator())), 4);  // team.h5, q/, plan.json, eval-small.txt
    }

    // OmniQuant (issue 15): every trained layer's loss per epoch, as --json prints it, is the
    // run's history in the session; an RTN run has none.
    void anOmniQuantRunKeepsEachLayersLossHistory() {
        const fs::path dir = test::freshScratchDir("cli_session_omniquant");
        const fs::path session = dir / "team.h5";
        std::ofstream(dir / "plan.json") << R"({"default": {"method": "omniquant", "bits": 3, "group_size": 32, "epochs": 3}})";
        const CliRun q = runCli({"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"), "--calib",
                                 path(test::bundledText("calib.txt")), "--calib-windows", "2", "--calib-ctx", "64", "--out",
                                 path(dir / "q"), "--threads", "1", "--session", path(session), "--json"});
        QCOMPARE(q.exitCode, 0);
        const QJsonArray printed = jsonOf(q.out)["training_loss"].toArray();
        QCOMPARE(printed.size(), 5);  // the bundled model's decoder layers
        const core::SessionData d = core::SessionStore::read(session);
        QCOMPARE(int(d.runs.size()), 1);
        const auto& stored = d.runs[0].trainingLoss;
        QCOMPARE(int(stored.size()), 5);
        for (int layer = 0; layer < 5; ++layer) {
            const QJsonObject entry = printed[layer].toObject();
            QCOMPARE(entry["layer"].toInt(), layer);
            const QJsonArray loss = entry["loss"].toArray();
            QCOMPARE(loss.size(), 3);
            QCOMPARE(int(stored.at(layer).size()), 3);
            for (int e = 0; e < 3; ++e) {
                QVERIFY(loss[e].toDouble() > 0.0 && std::isfinite(loss[e].toDouble()));
                QCOMPARE(stored.at(layer)[std::size_t(e)], loss[e].toDouble());
            }
        }

        std::ofstream(dir / "rtn.json") << kPlan;
        const CliRun r = runCli({"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "rtn.json"), "--calib",
                                 path(test::bundledText("calib.txt")), "--calib-windows", "2", "--calib-ctx", "64", "--out",
                                 path(dir / "r"), "--threads", "1", "--session", path(session), "--json"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(!jsonOf(r.out).contains("training_loss"));
        QVERIFY(core::SessionStore::read(session).runs.at(1).trainingLoss.empty());
    }
    void evalAgainstABaselineAppendsItsKldFigures() {
        const fs::path dir = test::freshScratchDir("cli_session_kld");
        const fs::path session = dir / "kld.h5";
        const fs::path model = test::bundledModelDir();
        const CliRun r = runCli({"eval", "--model", path(model), "--baseline", path(model), "--text",
                                 path(test::bundledText("eval.txt")), "--ctx", "128", "--max-windows", "2", "--threads", "2",
                                 "--session", path(session), "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = jsonOf(r.out);
        const core::RunRecord run = core::SessionStore::readRun(session, "run-1");
        for (const char* key : {"kld_mean", "kld_median", "kld_p90", "kld_p99", "kld_max", "top1_agreement_percent",
                                "delta_p_rms_percent", "baseline_perplexity", "perplexity", "perplexity_delta_percent"})
            QCOMPARE(run.metrics.at(key), j[key].toDouble());
        QCOMPARE(run.metrics.at("top1_agreement_percent"), 100.0);  // the model against itself
        QVERIFY(run.protocol && run.protocol->baselineDtype);
        QCOMPARE(*run.protocol->baselineDtype, std::string("F32"));
        QCOMPARE(run.protocol->eval->windows, 2);
        QCOMPARE(protocolJson(run), j["protocol"].toObject());
    }

    void aGarbageSessionIsRefusedBeforeAnyWork_data() {
        QTest::addColumn<QString>("command");
        QTest::newRow("eval") << "eval";
        QTest::newRow("quantize") << "quantize";
        QTest::newRow("bench") << "bench";
    }
    void aGarbageSessionIsRefusedBeforeAnyWork() {
        QFETCH(QString, command);
        const fs::path dir = test::freshScratchDir("cli_session_garbage_" + command.toStdString());
        const fs::path session = dir / "broken.h5";
        const std::string garbage = "not a session at all\n" + std::string(5000, '\x01');
        std::ofstream(session, std::ios::binary) << garbage;
        std::ofstream(dir / "plan.json") << kPlan;
        const QString model = path(test::bundledModelDir());
        QStringList args;
        if (command == "eval") args = {"eval", "--model", model, "--text", path(test::bundledText("eval.txt")), "--max-windows", "1"};
        if (command == "quantize")
            args = {"quantize", "--model", model, "--plan", path(dir / "plan.json"), "--calib", path(test::bundledText("calib.txt")),
                    "--calib-windows", "2", "--calib-ctx", "64", "--out", path(dir / "q")};
        if (command == "bench") args = {"bench", "--model", model, "--prompt-tokens", "8", "--gen-tokens", "4"};
        const CliRun r = runCli(args << "--threads" << "2" << "--session" << path(session));
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        const QString err = QString::fromUtf8(r.err);
        QCOMPARE(err.count('\n'), 1);
        QVERIFY2(err.startsWith("error: " + path(session) + ": not an HDF5 file"), qPrintable(err));
        QCOMPARE(readBytes(session), garbage);
        QVERIFY(!fs::exists(dir / "q"));  // quantize wrote no checkpoint
        QCOMPARE(int(std::distance(fs::directory_iterator(dir), fs::directory_iterator())), 2);  // the session and the plan
    }

    void sessionNeedsACommandThatMakesARun() {
        const fs::path dir = test::freshScratchDir("cli_session_norun");
        std::ofstream(dir / "plan.json") << kPlan;
        const QString session = path(dir / "s.h5");
        const CliRun dry = runCli({"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"),
                                   "--dry-run", "--session", session});
        QCOMPARE(dry.exitCode, 1);
        QVERIFY(dry.err.startsWith("error: quantize: --dry-run"));
        const CliRun kernels = runCli({"bench", "--kernels", "--session", session});
        QCOMPARE(kernels.exitCode, 1);
        QVERIFY(kernels.err.startsWith("error: bench: --kernels"));
        QVERIFY(!fs::exists(dir / "s.h5"));
    }
};

QTEST_GUILESS_MAIN(TestCliSession)
#include "test_cli_session.moc"

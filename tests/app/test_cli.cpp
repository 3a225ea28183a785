// quantbench-cli as a user runs it: a separate process, exit code, stdout and stderr.
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QThread>
#include <QtTest>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include "checkpoint_fixtures.h"
#include "core/io/safetensors_file.h"
#include "support/cli_process.h"
#include "support/test_support.h"

using namespace qb;
using qb::test::Defect;

namespace {

using test::CliRun;
using test::runCli;
using test::readBytes;

QString path(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }

void writeFile(const std::filesystem::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }

QJsonObject jsonOf(const QByteArray& out) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(out, &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject()) qWarning("not one JSON object: %s", out.constData());
    return doc.object();
}

// Lines of text that start with prefix.
QStringList linesStartingWith(const QByteArray& text, const QString& prefix) {
    QStringList lines;
    for (const QString& line : QString::fromUtf8(text).split('\n'))
        if (line.startsWith(prefix)) lines << line;
    return lines;
}

// A small, fast calibration for the bundled model: 4 windows of 128 tokens.
QStringList smallCalibration() {
    return {"--calib", path(test::bundledText("calib.txt")), "--calib-windows", "4", "--calib-ctx", "128", "--threads", "2"};
}

// RTN W4 g32 everywhere but one module kept in FP16.
const std::string kRtnPlan = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32},
    "rules": [{"match": "model.layers.0.self_attn.q_proj", "method": "fp16"}]})";

// Entries of dir whose names start with prefix.
int entriesStartingWith(const std::filesystem::path& dir, const std::string& prefix) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.path().filename().string().rfind(prefix, 0) == 0;
    return n;
}

// Runs the CLI with --calib FIFO, sends it `sig` once it has opened the FIFO (its handlers are
// installed by then), then feeds it the calibration text: the run reaches its first stop
// check with the stop already requested.
CliRun runInterrupted(QStringList args, const std::filesystem::path& fifo, int sig) {
    CliRun r;
    if (::mkfifo(fifo.c_str(), 0600) != 0) return r;
    args << "--calib" << path(fifo);
    QProcess p;
    p.start(QStringLiteral(QB_CLI_PATH), args);
    if (!p.waitForStarted()) return r;
    int fd = -1;
    QElapsedTimer clock;
    clock.start();
    // Opening a FIFO for writing without blocking fails (ENXIO) until a reader has it open.
    while ((fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) < 0 && clock.elapsed() < 30000 && p.state() == QProcess::Running)
        QThread::msleep(10);
    if (fd >= 0) {
        ::kill(pid_t(p.processId()), sig);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        std::ifstream in(test::bundledText("calib.txt"), std::ios::binary);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        for (std::size_t done = 0; done < text.size();) {
            const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n <= 0) break;
            done += std::size_t(n);
        }
        ::close(fd);
    }
    if (!p.waitForFinished(60000)) return r;
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.exitCode = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

const QString kVersionLine = QStringLiteral("quantbench-cli " QB_VERSION "\n");

// Names under "Subcommands:" in CLI11's help text ("  info   architecture, ...").
QStringList subcommandsIn(const QString& help) {
    QStringList names;
    const QStringList lines = help.split('\n');
    const qsizetype from = lines.indexOf("Subcommands:");
    for (qsizetype i = from + 1; from >= 0 && i < lines.size() && lines[i].startsWith("  "); ++i)
        names << lines[i].trimmed().section(' ', 0, 0);
    return names;
}

}  // namespace

Q_DECLARE_METATYPE(Defect)

class TestCli : public QObject {
    Q_OBJECT
private slots:
    void badCheckpointFailsWithOneErrorLine_data() {
        QTest::addColumn<QString>("command");
        QTest::addColumn<Defect>("defect");
        QTest::addColumn<QString>("problem");
        QTest::newRow("info, missing config.json") << "info" << Defect::MissingConfig << "/config.json: missing or unreadable";
        QTest::newRow("info, truncated safetensors") << "info" << Defect::Truncated << "/model.safetensors: tensor '";
        QTest::newRow("info, shape vs config") << "info" << Defect::ShapeDisagrees
                                               << "/model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape "
                                                  "[64, 64] but config.json implies [32, 64]";
        QTest::newRow("info, index names a missing shard")
            << "info" << Defect::IndexNamesMissingShard
            << "/model.safetensors.index.json: names shard 'model-00002-of-00002.safetensors', which is missing";
        QTest::newRow("eval, NaN weight") << "eval" << Defect::NanWeight << "holds a non-finite value (NaN or Inf) at element 17";
        QTest::newRow("eval, unknown dtype") << "eval" << Defect::UnknownDtype << "/model.safetensors: tensor 'w': unknown dtype 'F8_E4M3'";
        QTest::newRow("eval, missing tokenizer") << "eval" << Defect::MissingTokenizer << "/tokenizer.json: missing, and so is tokenizer.model";
        QTest::newRow("info, header beyond the file")
            << "info" << Defect::HeaderBeyondFile << "/model.safetensors: header length 4096 reaches beyond the end of the file";
        QTest::newRow("info, absurd header length")
            << "info" << Defect::HeaderAbsurd << "/model.safetensors: header length 1099511627776 is absurdly large";
        QTest::newRow("info, malformed header JSON") << "info" << Defect::MalformedHeaderJson << "/model.safetensors: malformed JSON header";
        QTest::newRow("info, malformed config.json") << "info" << Defect::MalformedConfig << "/config.json: malformed JSON";
        QTest::newRow("info, size mismatch")
            << "info" << Defect::SizeMismatch << "/model.safetensors: tensor 'w': shape [4, 4] × F32 needs 64 bytes but data_offsets span 60";
        QTest::newRow("info, overlapping tensors") << "info" << Defect::OverlappingOffsets << "/model.safetensors: tensors 'a' and 'b' overlap";
        QTest::newRow("info, missing tensor")
            << "info" << Defect::MissingTensor
            << "/model.safetensors: tensor 'model.layers.4.post_attention_layernorm.weight' is missing";
        QTest::newRow("eval, Inf weight") << "eval" << Defect::InfWeight << "holds a non-finite value (NaN or Inf) at element 17";
        QTest::newRow("eval, BOS outside the vocabulary")
            << "eval" << Defect::BosOutsideVocabulary << "/tokenizer.model: BOS id 600 is outside the vocabulary of 512";
    }
    void badCheckpointFailsWithOneErrorLine() {
        QFETCH(QString, command);
        QFETCH(Defect, defect);
        QFETCH(QString, problem);
        const QString tag = "cli-" + QString(QTest::currentDataTag()).replace(QRegularExpression("[^a-zA-Z0-9]+"), "-");
        const auto dir = test::craftCheckpoint(defect, tag.toStdString());
        QStringList args = {command, "--model", path(dir)};
        if (command == "eval") args << "--text" << path(test::bundledText("eval.txt")) << "--max-windows" << "1";
        const CliRun r = runCli(args);
        QVERIFY(!r.crashed);
        QVERIFY(r.exitCode != 0);
        QCOMPARE(r.out, QByteArray());
        const QString err = QString::fromUtf8(r.err);
        QVERIFY2(err.endsWith('\n') && err.count('\n') == 1, qPrintable("stderr: " + err));
        QVERIFY2(err.startsWith("error: "), qPrintable(err));
        QVERIFY2(err.contains(path(dir) + "/"), qPrintable(err));  // names the file inside the folder
        QVERIFY2(err.contains(problem), qPrintable(err));
    }
    void infoDescribesACheckpointWhoseTokenizerIsMissing() {
        const auto dir = test::craftCheckpoint(Defect::MissingTokenizer, "cli-info-no-tokenizer");
        const CliRun r = runCli({"info", "--model", path(dir), "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = jsonOf(r.out);
        QCOMPARE(j["layers"].toInt(), 5);
        QVERIFY2(j["tokenizer"].toObject()["error"].toString().contains("/tokenizer.json: missing"), r.out.constData());
    }
    void missingModelFolderIsOneErrorLine() {
        const CliRun r = runCli({"info", "--model", "/nonexistent/qb-model"});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(r.err, QByteArray("error: /nonexistent/qb-model: no such folder\n"));
    }
    void helpAndVersionExitZero_data() {
        // The top level and every subcommand that the top-level help lists (new ones included).
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("expected");
        const QString help = QString::fromUtf8(runCli({"--help"}).out);
        const QStringList subcommands = subcommandsIn(help);
        QVERIFY(subcommands.contains("info") && subcommands.contains("eval"));
        QTest::newRow("--help") << QStringList{"--help"} << "Subcommands:";
        QTest::newRow("--version") << QStringList{"--version"} << kVersionLine;
        for (const QString& sub : subcommands) {
            QTest::addRow("%s --help", qPrintable(sub)) << QStringList{sub, "--help"} << "Usage: ";
            QTest::addRow("%s --version", qPrintable(sub)) << QStringList{sub, "--version"} << kVersionLine;
        }
    }
    void helpAndVersionExitZero() {
        QFETCH(QStringList, args);
        QFETCH(QString, expected);
        const CliRun r = runCli(args);
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(QString::fromUtf8(r.out).contains(expected), r.out.constData());
        QCOMPARE(r.err, QByteArray());
    }
    void noSubcommandIsAUsageError() {
        const CliRun r = runCli({});
        QVERIFY(!r.crashed);
        QVERIFY(r.exitCode != 0);
        QCOMPARE(r.out, QByteArray());
        QVERIFY(r.err.contains("A subcommand is required"));
    }
    void evalJsonPrintsOneObject() {
        const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                 "--max-windows", "4", "--threads", "2", "--json"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(r.out, &parseError);
        QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
        QVERIFY(doc.isObject());
        const QJsonObject j = doc.object();
        for (const char* key : {"perplexity", "loss", "predictions", "tokens_per_second", "ctx", "windows"})
            QVERIFY2(j.contains(key), key);
        QCOMPARE(j["ctx"].toInt(), 512);
        QCOMPARE(j["windows"].toInt(), 4);
        QCOMPARE(j["predictions"].toInt(), 4 * 511);
        QVERIFY(j["perplexity"].toDouble() > 3.0 && j["perplexity"].toDouble() < 5.0);
        QVERIFY(std::abs(std::exp(j["loss"].toDouble()) - j["perplexity"].toDouble()) < 1e-9);
        QVERIFY(j["tokens_per_second"].toDouble() > 0);
    }
    void evalSavesEveryWindowsTokensAndLogits() {
        const auto dir = test::freshScratchDir("save-logits");
        const auto file = dir / "fp.safetensors";
        const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                 "--max-windows", "3", "--ctx", "64", "--threads", "2", "--json", "--save-logits", path(file)});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = jsonOf(r.out);
        const auto f = core::SafetensorsFile::open(file);
        const auto* tokens = f->find("tokens");
        const auto* logits = f->find("logits");
        QVERIFY(tokens && logits);
        QCOMPARE(core::dtypeName(tokens->dtype), std::string("I32"));
        QCOMPARE(tokens->shape, (std::vector<std::int64_t>{3, 64}));
        QCOMPARE(core::dtypeName(logits->dtype), std::string("F32"));
        QCOMPARE(logits->shape, (std::vector<std::int64_t>{3, 64, 512}));
        QCOMPARE(f->metadata().at("ctx"), std::string("64"));
        // The saved logits are the ones scored: their mean NLL over the 3 × 63 targets is the loss eval printed.
        const auto* ids = reinterpret_cast<const std::int32_t*>(tokens->data);
        const auto* L = reinterpret_cast<const float*>(logits->data);
        QCOMPARE(ids[0], 1);  // BOS opens the first document
        double nll = 0;
        for (int w = 0; w < 3; ++w)
            for (int t = 0; t + 1 < 64; ++t) {
                const float* row = L + (std::size_t(w) * 64 + std::size_t(t)) * 512;
                double mx = row[0], z = 0;
                for (int v = 1; v < 512; ++v) mx = std::max(mx, double(row[v]));
                for (int v = 0; v < 512; ++v) z += std::exp(double(row[v]) - mx);
                nll += mx + std::log(z) - row[ids[w * 64 + t + 1]];
            }
        QVERIFY(std::abs(nll / (3 * 63) - j["loss"].toDouble()) < 1e-6);
        QCOMPARE(entriesStartingWith(dir, "fp.safetensors.tmp"), 0);
    }
    void saveLogitsIntoAMissingFolderIsOneErrorLine() {
        const auto file = test::freshScratchDir("save-logits-missing") / "no" / "fp.safetensors";
        const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                 "--max-windows", "1", "--save-logits", path(file)});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.contains("does not exist"), r.err.constData());
        QVERIFY(!std::filesystem::exists(file));
    }
    // ---- eval against a baseline ------------------------------------------------------------
    void evalAgainstBaselineLogitsEqualsEvalAgainstTheBaselineModel() {
        QCOMPARE(rtnQuantize().exitCode, 0);
        const QStringList common = {"--model", path(m_rtnOut), "--text", path(test::bundledText("eval.txt")), "--ctx", "64",
                                    "--max-windows", "3", "--threads", "2", "--json"};
        const CliRun direct = runCli(QStringList{"eval", "--baseline", path(test::bundledModelDir())} + common);
        const CliRun fromFile = runCli(QStringList{"eval", "--baseline-logits", path(fpLogits())} + common);
        QCOMPARE(direct.exitCode, 0);
        QCOMPARE(fromFile.exitCode, 0);
        QCOMPARE(direct.err, QByteArray());
        const QJsonObject a = jsonOf(direct.out), b = jsonOf(fromFile.out);
        QCOMPARE(a["positions"].toInt(), 3 * 63);
        QCOMPARE(b["positions"].toInt(), 3 * 63);
        QCOMPARE(a["baseline"].toString(), path(test::bundledModelDir()));
        QCOMPARE(b["baseline_logits"].toString(), path(fpLogits()));
        for (const char* key : {"perplexity", "baseline_perplexity", "perplexity_delta_percent", "kld_mean", "kld_median", "kld_p90",
                                "kld_p99", "kld_max", "top1_agreement_percent", "delta_p_rms_percent", "worst_1pct_top1_percent"}) {
            QVERIFY2(a.contains(key) && b.contains(key), key);
            const double x = a[key].toDouble(), y = b[key].toDouble();
            QVERIFY2(std::abs(x - y) <= 1e-6 * std::max(1.0, std::abs(x)), qPrintable(QString("%1: %2 vs %3").arg(key).arg(x).arg(y)));
        }
        QCOMPARE(a["worst_1pct_positions"].toInt(), 2);  // ⌈189 / 100⌉
        // RTN W4 moves the model off its FP32 original, but not far.
        QVERIFY(a["kld_mean"].toDouble() > 1e-3 && a["kld_mean"].toDouble() < 0.5);
        QVERIFY(a["kld_median"].toDouble() <= a["kld_p90"].toDouble());
        QVERIFY(a["kld_p90"].toDouble() <= a["kld_p99"].toDouble());
        QVERIFY(a["kld_p99"].toDouble() <= a["kld_max"].toDouble());
        QVERIFY(a["top1_agreement_percent"].toDouble() > 50.0 && a["top1_agreement_percent"].toDouble() < 100.0);
        // The baseline's perplexity is the one plain eval prints for the FP32 model on the same windows.
        const CliRun fp = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                  "--ctx", "64", "--max-windows", "3", "--threads", "2", "--json"});
        QVERIFY(std::abs(a["baseline_perplexity"].toDouble() / jsonOf(fp.out)["perplexity"].toDouble() - 1) < 1e-6);
    }
    void evalAgainstABaselinePrintsOneFigurePerLine() {
        const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--baseline-logits", path(fpLogits()), "--text",
                                 path(test::bundledText("eval.txt")), "--ctx", "64", "--max-windows", "3", "--threads", "2"});
        QCOMPARE(r.exitCode, 0);
        // The model against its own logits: every divergence is zero and every top token agrees.
        for (const char* line : {"KLD mean             0.000000 nats", "KLD median           0.000000 nats",
                                    "KLD p90              0.000000 nats", "KLD p99              0.000000 nats",
                                    "KLD max              0.000000 nats", "top-1 agreement      100.00 %",
                                    "RMS Δp               0.000 %", "same top, worst 1%   100.00 % of 2 positions",
                                    "perplexity change    +0.00 %", "positions            189 (3 windows of 64 tokens)"})
            QVERIFY2(linesStartingWith(r.out, line).size() == 1, qPrintable(QString::fromUtf8(line) + " in:\n" + QString::fromUtf8(r.out)));
        const QStringList model = linesStartingWith(r.out, "perplexity  "), baseline = linesStartingWith(r.out, "baseline perplexity ");
        QCOMPARE(model.size(), 1);
        QCOMPARE(baseline.size(), 1);
        QCOMPARE(model[0].section(' ', -1), baseline[0].section(' ', -1));  // the same figure, e.g. 4.2372
    }
    void baselineLogitsOfOtherWindowsAreOneErrorLineNamingTheDifference_data() {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<bool>("retokenized");
        QTest::addColumn<QString>("error");
        const QString eval = path(test::bundledText("eval.txt")), calib = path(test::bundledText("calib.txt"));
        QTest::newRow("ctx") << QStringList{"--text", eval, "--ctx", "32", "--max-windows", "3"} << false
                             << ": made with ctx 64, this run uses 32";
        QTest::newRow("windows") << QStringList{"--text", eval, "--ctx", "64", "--max-windows", "2"} << false
                                 << ": made with 3 windows, this run uses 2";
        QTest::newRow("text") << QStringList{"--text", calib, "--ctx", "64", "--max-windows", "3"} << false
                              << ": made on another text (eval.txt, sha256 ";
        QTest::newRow("tokens") << QStringList{"--text", eval, "--ctx", "64", "--max-windows", "3"} << true
                                << ": the tokens of window 2 differ at position 17 (another text or tokenizer)";
    }
    void baselineLogitsOfOtherWindowsAreOneErrorLineNamingTheDifference() {
        QFETCH(QStringList, args);
        QFETCH(bool, retokenized);
        QFETCH(QString, error);
        const std::filesystem::path file = retokenized ? retokenizedLogits() : fpLogits();
        const CliRun r = runCli(QStringList{"eval", "--model", path(test::bundledModelDir()), "--baseline-logits", path(file),
                                            "--threads", "2"} + args);
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY2(r.err.startsWith(("error: " + path(file) + error).toUtf8()), r.err.constData());
    }
    void baselineAndBaselineLogitsAreMutuallyExclusive() {
        const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                 "--baseline", path(test::bundledModelDir()), "--baseline-logits", path(fpLogits())});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err, QByteArray("error: --baseline and --baseline-logits are mutually exclusive: give one\n"));
    }
    void infoJsonDescribesTheBundledModel() {
        const CliRun r = runCli({"info", "--model", path(test::bundledModelDir()), "--json"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j["architecture"].toString(), QString("LlamaForCausalLM"));
        QCOMPARE(j["layers"].toInt(), 5);
        QCOMPARE(j["parameters"].toInteger(), qint64(260032));
        QCOMPARE(j["bytes_on_disk"].toInteger(), qint64(1044984));
        QCOMPARE(j["files"].toInt(), 1);
    }

    // ---- quantize -------------------------------------------------------------------------
    void quantizePrintsOneLinePerModule() {
        const CliRun& r = rtnQuantize();
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        QCOMPARE(linesStartingWith(r.out, "model.layers.").size(), 5 * 7);
        // name, method, bits, group, relative error, seconds, bytes
        const QRegularExpression rtn(R"(^model\.layers\.1\.mlp\.down_proj +rtn +4 +32 +\d\.\d{3}e-\d\d +\d+\.\d{3} +\d+$)");
        QVERIFY2(linesStartingWith(r.out, "model.layers.1.mlp.down_proj ").value(0).contains(rtn), r.out.constData());
        // The FP16 module holds 64 × 64 weights in 2 bytes each.
        const QRegularExpression fp16(R"(^model\.layers\.0\.self_attn\.q_proj +fp16 +16 +- +\d\.\d{3}e-\d\d +\d+\.\d{3} +8192$)");
        QVERIFY2(linesStartingWith(r.out, "model.layers.0.self_attn.q_proj ").value(0).contains(fp16), r.out.constData());
        QVERIFY2(linesStartingWith(r.out, "linear weights  226,560 in ").size() == 1, r.out.constData());
        QCOMPARE(linesStartingWith(r.out, "written ").value(0), "written         " + path(m_rtnOut));
    }
    void quantizeWritesAFolderThatLoads() {
        QCOMPARE(rtnQuantize().exitCode, 0);
        QVERIFY(std::filesystem::exists(m_rtnOut / "tokenizer.model"));
        QVERIFY(std::filesystem::exists(m_rtnOut / "model.safetensors"));
        std::ifstream in(m_rtnOut / "config.json");
        const std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const QJsonObject q = jsonOf(QByteArray::fromStdString(config))["quantization_config"].toObject();
        QCOMPARE(q["quant_method"].toString(), QString("gptq"));
        QCOMPARE(q["bits"].toInt(), 4);
        QCOMPARE(q["group_size"].toInt(), 32);
        QVERIFY(q["dynamic"].toObject().contains("-:^model\\.layers\\.0\\.self_attn\\.q_proj$"));  // the FP16 module
        const CliRun e = runCli({"eval", "--model", path(m_rtnOut), "--text", path(test::bundledText("eval.txt")), "--max-windows", "2",
                                 "--threads", "2", "--json"});
        QCOMPARE(e.exitCode, 0);
        const double ppl = jsonOf(e.out)["perplexity"].toDouble();
        QVERIFY2(ppl > 3.0 && ppl < 6.0, qPrintable(QString::number(ppl)));
    }
    void quantizeJsonReportsEveryModule() {
        const auto dir = test::freshScratchDir("cli-quantize-json");
        writeFile(dir / "plan.json", R"({"default": {"method": "rtn", "bits": 4, "group_size": 32},
            "rules": [{"match": "model.layers.0.self_attn.q_proj", "method": "fp16"},
                      {"match": "model.layers.4.mlp.down_proj", "method": "w8a8"},
                      {"match": "model.layers.3.self_attn.o_proj", "method": "llm_int8"}]})");
        const CliRun r = runCli(QStringList{"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"), "--out",
                                            path(dir / "out"), "--json"} + smallCalibration());
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        const QJsonObject j = jsonOf(r.out);
        for (const char* key : {"model", "plan", "out", "calibration", "modules", "bits_per_weight", "linear_bytes", "seconds"})
            QVERIFY2(j.contains(key), key);
        QCOMPARE(j["calibration"].toObject()["windows"].toInt(), 4);
        QCOMPARE(j["calibration"].toObject()["ctx"].toInt(), 128);
        const QJsonArray modules = j["modules"].toArray();
        QCOMPARE(modules.size(), 5 * 7);
        QHash<QString, QJsonObject> byName;
        for (const auto& m : modules) {
            const QJsonObject o = m.toObject();
            for (const char* key : {"name", "method", "format", "relative_error", "seconds", "bytes", "bits_per_weight"})
                QVERIFY2(o.contains(key), key);
            QVERIFY(o["relative_error"].toDouble() >= 0.0 && o["relative_error"].toDouble() < 0.1);
            byName[o["name"].toString()] = o;
        }
        // FP16: 2 bytes per weight. W8A8: int8 [64, 172] + F32 row scales = 11,264 bytes.
        const QJsonObject fp16 = byName["model.layers.0.self_attn.q_proj"], w8a8 = byName["model.layers.4.mlp.down_proj"];
        QCOMPARE(fp16["format"].toString(), QString("f16"));
        QCOMPARE(fp16["bits_per_weight"].toDouble(), 16.0);
        QCOMPARE(w8a8["format"].toString(), QString("w8a8"));
        QCOMPARE(w8a8["bytes"].toInteger(), qint64(64 * 172 + 64 * 4));
        QCOMPARE(w8a8["bits_per_weight"].toDouble(), 8.0 * (64 * 172 + 64 * 4) / (64 * 172));
        // LLM.int8(): int8 [64, 64] + scales, plus 64 F16 weights and an int32 index per FP column.
        const QJsonObject int8 = byName["model.layers.3.self_attn.o_proj"];
        QVERIFY(int8.contains("outlier_column_fraction"));
        QCOMPARE(int8["bytes"].toInteger(), qint64(64 * 64 + 64 * 4 + std::lround(int8["outlier_column_fraction"].toDouble() * 64) * (64 * 2 + 4)));
        QCOMPARE(j["bits_per_weight"].toDouble(), 8.0 * j["linear_bytes"].toDouble() / 226560.0);
    }
    void dryRunPrintsTheResolvedSchemeWithoutReadingWeights() {
        // A folder with config.json and no weights: the schemes come from the module names alone.
        const auto dir = test::modelFolderWithoutWeights("cli-dry-run");
        writeFile(dir / "plan.json", R"({"default": {"method": "gptq", "bits": 4, "group_size": 128, "act_order": true},
            "rules": [{"match": "model.layers.*.mlp.*", "bits": 8}, {"match": "model.layers.0.*", "method": "fp16"},
                      {"match": "model.layers.4.self_attn.o_proj", "method": "llm_int8", "threshold": 5.0}]})");
        const CliRun r = runCli({"quantize", "--model", path(dir), "--plan", path(dir / "plan.json"), "--dry-run"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        QCOMPARE(linesStartingWith(r.out, "model.layers.").size(), 5 * 7);
        auto line = [](const char* module, const char* scheme) { return QString("%1 %2\n").arg(module, -40).arg(scheme); };
        const QString out = QString::fromUtf8(r.out);
        QVERIFY2(out.contains(line("model.layers.0.mlp.down_proj", "fp16")), r.out.constData());
        QVERIFY2(out.contains(line("model.layers.1.mlp.down_proj", "gptq w8 g128 asym act-order")), r.out.constData());
        QVERIFY2(out.contains(line("model.layers.1.self_attn.k_proj", "gptq w4 g128 asym act-order")), r.out.constData());
        QVERIFY2(out.contains(line("model.layers.4.self_attn.o_proj", "llm_int8 threshold=5")), r.out.constData());
    }
    void badPlanIsOneErrorLineNamingTheFile() {
        const auto dir = test::freshScratchDir("cli-bad-plan");
        writeFile(dir / "plan.json", R"({"default": {"method": "w8a8", "act_bits": 16}})");
        const CliRun r = runCli(QStringList{"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"),
                                            "--out", path(dir / "out")} + smallCalibration());
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(QString::fromUtf8(r.err), "error: " + path(dir / "plan.json") + ": default: \"act_bits\" is 16, outside 4–8\n");
        QVERIFY(!std::filesystem::exists(dir / "out"));
    }
    // The issue's plan as written (20 epochs of LWC on 4 windows of 128 tokens): one line per
    // module, the per-layer log line with the loss; with act_bits, LWC and LET train together.
    void quantizeWithAnOmniQuantPlan() {
        const auto dir = test::freshScratchDir("cli-omniquant");
        writeFile(dir / "plan.json", R"({"default": {"method": "omniquant", "bits": 4, "group_size": 32}})");
        QStringList calib = smallCalibration();
        calib.last() = "1";  // one thread: the training steps are short (BENCHMARKS.md, OmniQuant)
        const CliRun r = runCli(QStringList{"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"),
                                            "--out", path(dir / "out")} + calib);
        QCOMPARE(r.exitCode, 0);
        const QRegularExpression row(R"(^model\.layers\.4\.mlp\.down_proj +omniquant +4 +32 +\d\.\d{3}e-\d\d +\d+\.\d{3} +\d+$)");
        QVERIFY2(linesStartingWith(r.out, "model.layers.4.mlp.down_proj ").value(0).contains(row), r.out.constData());
        QVERIFY2(r.err.contains("layer 4: omniquant LWC loss ") && r.err.contains(" over 20 epochs, "), r.err.constData());
        QVERIFY(std::filesystem::exists(dir / "out" / "model.safetensors"));

        writeFile(dir / "let.json", R"({"default": {"method": "omniquant", "bits": 4, "group_size": -1, "act_bits": 4, "epochs": 2}})");
        const CliRun let = runCli(QStringList{"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "let.json"),
                                              "--out", path(dir / "out-let")} + calib);
        QCOMPARE(let.exitCode, 0);
        QVERIFY2(let.err.contains("layer 4: omniquant LWC+LET loss ") && let.err.contains(" over 2 epochs, "), let.err.constData());
    }
    void existingOutputIsRefusedBeforeAnyWork() {
        // --calib names no file: reaching the calibration would fail with another message.
        const auto dir = test::freshScratchDir("cli-existing-out");
        std::filesystem::create_directory(dir / "out");
        writeFile(dir / "out" / "keep.txt", "mine");
        writeFile(dir / "plan.json", kRtnPlan);
        const CliRun r = runCli({"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"), "--out",
                                 path(dir / "out"), "--calib", path(dir / "no-such-calib.txt")});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(QString::fromUtf8(r.err),
                 "error: " + path(dir / "out") + ": already exists and is not an empty folder (choose another --out or remove it)\n");
        QVERIFY(std::filesystem::exists(dir / "out" / "keep.txt"));
        QCOMPARE(entriesStartingWith(dir, "out.tmp-"), 0);
    }
    void outputInAMissingFolderIsRefused() {
        const auto dir = test::freshScratchDir("cli-missing-parent");
        writeFile(dir / "plan.json", kRtnPlan);
        const CliRun r = runCli(QStringList{"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"),
                                            "--out", path(dir / "missing" / "out")} + smallCalibration());
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(QString::fromUtf8(r.err), "error: " + path(dir / "missing" / "out") + ": the parent folder does not exist\n");
    }
    void quantizeStopsOnASignalAndLeavesNothing_data() {
        QTest::addColumn<int>("sig");
        QTest::newRow("SIGINT") << int(SIGINT);
        QTest::newRow("SIGTERM") << int(SIGTERM);
    }
    void quantizeStopsOnASignalAndLeavesNothing() {
        QFETCH(int, sig);
        const auto dir = test::freshScratchDir(std::string("cli-quantize-signal-") + QTest::currentDataTag());
        writeFile(dir / "plan.json", kRtnPlan);
        const CliRun r = runInterrupted({"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"), "--out",
                                         path(dir / "out"), "--calib-windows", "4", "--calib-ctx", "128"},
                                        dir / "calib.fifo", sig);
        QVERIFY(!r.crashed);  // the signal was caught, not fatal
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        // Nothing under the output's name; the resume state is kept, and said so (test_cli_resume).
        QCOMPARE(QString::fromUtf8(r.err), "note: 0 of 5 layers are kept in " + path(dir / "out.quantize-state") +
                                               "; quantize --resume with the same arguments continues\nerror: cancelled\n");
        QVERIFY(!std::filesystem::exists(dir / "out"));
        QCOMPARE(entriesStartingWith(dir, "out.tmp-"), 0);
    }

    // ---- inspect --------------------------------------------------------------------------
    void inspectWritesASessionAndSortedOutliers() {
        const auto dir = test::freshScratchDir("cli-inspect");
        const CliRun r = runCli(QStringList{"inspect", "--model", path(test::bundledModelDir()), "--out", path(dir / "session.h5"),
                                            "--no-sensitivity", "--json"} + smallCalibration());
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        std::ifstream session(dir / "session.h5", std::ios::binary);
        char magic[8] = {};
        session.read(magic, 8);
        QCOMPARE(QByteArray(magic, 8), QByteArray("\x89HDF\r\n\x1a\n", 8));  // an HDF5 file
        const QJsonArray modules = jsonOf(r.out)["modules"].toArray();
        QCOMPARE(modules.size(), 5 * 7);
        int withOutliers = 0;
        for (const auto& m : modules) {
            const QJsonArray outliers = m.toObject()["outlier_channels"].toArray();
            withOutliers += !outliers.isEmpty();
            for (qsizetype i = 1; i < outliers.size(); ++i)
                QVERIFY2(outliers[i - 1].toObject()["absmax"].toDouble() >= outliers[i].toObject()["absmax"].toDouble(),
                         qPrintable(m.toObject()["name"].toString()));
        }
        QVERIFY(withOutliers > 0);  // the bundled model has channels beyond 6 (layer 1 q/k/v: 8.7)
    }
    void inspectRulesTakeTheirThresholdsFromTheCommandLine() {
        const auto dir = test::freshScratchDir("cli-inspect-rules");
        const auto outlierCount = [&](const QStringList& rules) {
            const CliRun r = runCli(QStringList{"inspect", "--model", path(test::bundledModelDir()), "--out",
                                                path(dir / "session.h5"), "--no-sensitivity", "--json"} +
                                    rules + smallCalibration());
            if (r.exitCode != 0) return -1;
            int n = 0;
            for (const auto& m : jsonOf(r.out)["modules"].toArray()) n += int(m.toObject()["outlier_channels"].toArray().size());
            return n;
        };
        const int byDefault = outlierCount({});
        QVERIFY(byDefault > 0);
        QCOMPARE(outlierCount({"--threshold", "1000", "--relative-factor", "1000"}), 0);
        QVERIFY(outlierCount({"--relative-factor", "3"}) > byDefault);
    }
    void inspectStopsOnASignal() {
        const auto dir = test::freshScratchDir("cli-inspect-signal");
        const CliRun r = runInterrupted({"inspect", "--model", path(test::bundledModelDir()), "--out", path(dir / "session.h5"),
                                         "--no-sensitivity", "--calib-windows", "4", "--calib-ctx", "128"},
                                        dir / "calib.fifo", SIGINT);
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err, QByteArray("error: cancelled\n"));
        QVERIFY(!std::filesystem::exists(dir / "session.h5"));
        QCOMPARE(entriesStartingWith(dir, "session.h5.tmp-"), 0);
    }
    void inspectRefusesAnOutputFolderThatIsNotThere() {
        const auto dir = test::freshScratchDir("cli-inspect-unwritable");
        const auto out = dir / "missing" / "session.h5";
        const CliRun r = runCli(QStringList{"inspect", "--model", path(test::bundledModelDir()), "--out", path(out)} +
                                smallCalibration());
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QByteArray());
        QVERIFY2(r.err.startsWith(QByteArray("error: ") + path(out).toUtf8() + ": ") && r.err.count('\n') == 1 &&
                     r.err.contains("does not exist"),
                 r.err.constData());
    }

    // ---- bench ----------------------------------------------------------------------------
    void benchJsonHasTheModelAndItsFp16Version() {
        const CliRun r = runCli({"bench", "--model", path(test::bundledModelDir()), "--prompt-tokens", "16", "--gen-tokens", "8",
                                 "--threads", "2", "--json"});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.err, QByteArray());
        const QJsonObject j = jsonOf(r.out);
        for (const char* config : {"model", "fp16"})
            for (const char* key : {"prefill_tokens_per_second", "decode_ms_per_token", "weight_bytes", "peak_rss_bytes"})
                QVERIFY2(j[config].toObject()[key].toDouble() > 0.0, qPrintable(QString("%1.%2").arg(config, key)));
        QCOMPARE(j["prompt_tokens"].toInt(), 16);
        QCOMPARE(j["gen_tokens"].toInt(), 8);
        // The bundled model is F32: its FP16 version holds fewer weight bytes.
        QVERIFY(j["fp16"].toObject()["weight_bytes"].toDouble() < j["model"].toObject()["weight_bytes"].toDouble());
    }
    void benchKernelsJsonHasOneEntryPerFormat() {
        // One small shape keeps it fast; the default shapes are LLaMA-7B's (seconds to minutes).
        const CliRun r = runCli({"bench", "--kernels", "--shape", "128x512", "--repeats", "2", "--threads", "2", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = jsonOf(r.out);
        QVERIFY(j["read_bandwidth_gbps"].toDouble() > 0.0);
        QCOMPARE(j["repeats"].toInt(), 2);
        QCOMPARE(j["threads"].toInt(), 2);
        QVERIFY(!j["kernel_path"].toString().isEmpty());
        const QJsonArray kernels = j["kernels"].toArray();
        QStringList formats;
        for (const auto& k : kernels) {
            const QJsonObject e = k.toObject();
            formats << e["format"].toString();
            QCOMPARE(e["rows"].toInt(), 128);
            QCOMPARE(e["cols"].toInt(), 512);
            QVERIFY(e["seconds"].toDouble() > 0.0 && e["gbps"].toDouble() > 0.0 && e["weight_bytes"].toDouble() > 0.0);
        }
        QVERIFY2(formats.contains("fp32") && formats.contains("fp16") && formats.contains("int8"), qPrintable(formats.join(", ")));
        QCOMPARE(formats.removeDuplicates(), qsizetype(0));
    }
    void benchRejectsAMalformedShape() {
        const CliRun r = runCli({"bench", "--kernels", "--shape", "128by512"});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.err, QByteArray("error: bench: --shape '128by512' is not ROWSxCOLS (each 1..1048576)\n"));
    }

    // --- devices -------------------------------------------------------------------------
    void anUnknownDeviceIsRefusedWithTheDevicesPresent() {
        const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                 "--device", "cuda:7"});
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.startsWith("error: --device cuda:7: no such device (this machine has: cpu"), r.err.constData());
        QCOMPARE(r.err.count('\n'), 1);
        QVERIFY(r.out.isEmpty());
    }
    void theCpuDeviceGivesTheSameFiguresAsTheDefault() {
        const QStringList args{"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                               "--ctx", "64", "--max-windows", "2", "--json"};
        const CliRun byDefault = runCli(args);
        const CliRun onCpu = runCli(args + QStringList{"--device", "cpu"});
        QCOMPARE(onCpu.exitCode, 0);
        QCOMPARE(jsonOf(onCpu.out).value("perplexity").toDouble(), jsonOf(byDefault.out).value("perplexity").toDouble());
    }
    void selftestWithoutADeviceSaysSoInOneLine() {
        // CI has no GPU: the self-test refuses in one line (which one depends on whether the
        // CUDA backend was built) and exits 1, never a crash or a silent pass.
        const CliRun r = runCli({"selftest", "--quick"});
        QVERIFY(!r.crashed);
        QCOMPARE(r.exitCode, 1);
        const bool noDevice = r.err == "error: selftest: no usable CUDA device on this machine, nothing to test\n";
        const bool noBackend = r.err == "error: selftest: this build has no CUDA backend (nvcc was not found when it was configured)\n";
        QVERIFY2(noDevice || noBackend, r.err.constData());
    }

private:
    // One RTN quantize run shared by the tests that read its output.
    const CliRun& rtnQuantize() {
        if (!m_rtnRun) {
            const auto dir = test::freshScratchDir("cli-quantize-rtn");
            writeFile(dir / "plan.json", kRtnPlan);
            m_rtnOut = dir / "out";
            m_rtnRun = runCli(QStringList{"quantize", "--model", path(test::bundledModelDir()), "--plan", path(dir / "plan.json"),
                                          "--out", path(m_rtnOut)} + smallCalibration());
        }
        return *m_rtnRun;
    }
    std::optional<CliRun> m_rtnRun;
    std::filesystem::path m_rtnOut;

    // The FP32 model's logits on the first 3 windows of 64 tokens of eval.txt (eval --save-logits), made once.
    const std::filesystem::path& fpLogits() {
        if (m_fpLogits.empty()) {
            const auto file = test::freshScratchDir("cli-baseline-logits") / "fp32.safetensors";
            const CliRun r = runCli({"eval", "--model", path(test::bundledModelDir()), "--text", path(test::bundledText("eval.txt")),
                                     "--ctx", "64", "--max-windows", "3", "--threads", "2", "--quiet", "--save-logits", path(file)});
            if (r.exitCode != 0) qWarning("eval --save-logits failed: %s", r.err.constData());
            m_fpLogits = file;
        }
        return m_fpLogits;
    }
    // fpLogits() with token 17 of window 2 changed, as another tokenizer would have it.
    const std::filesystem::path& retokenizedLogits() {
        if (m_retokenizedLogits.empty()) {
            const auto f = core::SafetensorsFile::open(fpLogits());
            std::vector<core::TensorBlob> blobs;
            for (const auto& t : f->tensors())
                blobs.push_back({t.name, t.dtype, t.shape, std::vector<std::byte>(t.data, t.data + t.nbytes)});
            for (auto& b : blobs)
                if (b.name == "tokens") {
                    auto* ids = reinterpret_cast<std::int32_t*>(b.bytes.data());
                    ids[64 + 16] = ids[64 + 16] == 5 ? 6 : 5;
                }
            m_retokenizedLogits = test::freshScratchDir("cli-baseline-retokenized") / "fp32.safetensors";
            core::writeSafetensors(m_retokenizedLogits, blobs, f->metadata());
        }
        return m_retokenizedLogits;
    }
    std::filesystem::path m_fpLogits;
    std::filesystem::path m_retokenizedLogits;
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"

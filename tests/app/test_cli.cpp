// quantbench-cli as a user runs it: a separate process, exit code, stdout and stderr.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

#include <cmath>

#include "checkpoint_fixtures.h"
#include "support/test_support.h"

using namespace qb;
using qb::test::Defect;

namespace {

struct CliRun {
    int exitCode = -1;
    bool crashed = true;
    QByteArray out;
    QByteArray err;
};

CliRun runCli(const QStringList& args, int timeoutMs = 60000) {
    QProcess p;
    p.start(QStringLiteral(QB_CLI_PATH), args);
    CliRun r;
    if (!p.waitForStarted() || !p.waitForFinished(timeoutMs)) return r;
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.exitCode = p.exitCode();
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

QString path(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }

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
        QTest::newRow("eval, missing tokenizer") << "eval" << Defect::MissingTokenizer << "/tokenizer.model: missing";
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
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"

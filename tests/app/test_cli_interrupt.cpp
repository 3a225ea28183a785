// Ctrl-C (SIGINT) stops quantbench-cli export and report as it stops quantize: "error:
// cancelled" on stderr, exit status 1, nothing under the final name and no temp left. The
// signal is raised by the process itself at a known stage (the test-only QB_TEST_SIGINT_AT hook
// of app/cli/cli_support), so the test does not depend on timing; it goes through the real
// handler: without StopOnSignal the process would die of the signal.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "support/cli_process.h"
#include "support/test_support.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

using test::CliRun;
using test::readBytes;
using test::runCli;

QString path(const fs::path& p) { return QString::fromStdString(p.string()); }

// args run with SIGINT raised when the stage starting with `stage` first reports progress.
CliRun interruptedAt(const char* stage, const QStringList& args) {
    qputenv("QB_TEST_SIGINT_AT", stage);
    CliRun r = runCli(args);
    qunsetenv("QB_TEST_SIGINT_AT");
    return r;
}

QStringList exportArgs(const QString& format, const fs::path& out) {
    QStringList args{"export", "--model", path(test::bundledModelDir()), "--format", format, "--out", path(out), "--no-check", "--threads", "1"};
    if (format == "gguf") args << "--type" << "Q4_0";
    return args;
}

using test::namesIn;

void verifyCancelled(const CliRun& r) {
    QVERIFY2(!r.crashed, "ended by the signal instead of stopping");
    QCOMPARE(r.exitCode, 1);
    QCOMPARE(r.err.toStdString(), std::string("error: cancelled\n"));
}

}  // namespace

class TestCliInterrupt : public QObject {
    Q_OBJECT

private slots:
    void aGgufExportStopsBetweenTensorsAndLeavesNothing() {
        const fs::path dir = test::freshScratchDir("cli_interrupt_gguf");
        verifyCancelled(interruptedAt("writing blk.1.", exportArgs("gguf", dir / "m.gguf")));
        QCOMPARE(namesIn(dir), QStringList());
    }

    void anExportStopsWhileItLoadsTheModel() {
        const fs::path dir = test::freshScratchDir("cli_interrupt_loading");
        verifyCancelled(interruptedAt("loading ", exportArgs("gguf", dir / "m.gguf")));
        QCOMPARE(namesIn(dir), QStringList());
    }

    void aStoppedGgufExportKeepsThePreviousFile() {
        const fs::path dir = test::freshScratchDir("cli_interrupt_gguf_previous");
        std::ofstream(dir / "m.gguf") << "previous";
        verifyCancelled(interruptedAt("writing blk.1.", exportArgs("gguf", dir / "m.gguf")));
        QCOMPARE(namesIn(dir), QStringList{"m.gguf"});
        QCOMPARE(readBytes(dir / "m.gguf"), std::string("previous"));
    }

    void aHuggingFaceFolderExportStopsBetweenLayersAndLeavesNothing() {
        const fs::path dir = test::freshScratchDir("cli_interrupt_hf");
        verifyCancelled(interruptedAt("export layer 1", exportArgs("f16", dir / "m-f16")));
        QCOMPARE(namesIn(dir), QStringList());
    }

    void aReportStopsBetweenSectionsAndLeavesNothing_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("json") << "r.json";
        QTest::newRow("pdf") << "r.pdf";
    }
    void aReportStopsBetweenSectionsAndLeavesNothing() {
        if (!QB_CLI_HAS_REPORT) QSKIP("report is built only with the GUI library (QB_BUILD_GUI)");
        QFETCH(QString, file);
        const fs::path dir = test::freshScratchDir("cli_interrupt_report");
        const CliRun inspect = runCli({"inspect", "--model", path(test::bundledModelDir()), "--calib", path(test::bundledText("calib.txt")),
                                       "--calib-windows", "4", "--calib-ctx", "64", "--threads", "1", "--quiet", "--out", path(dir / "s.h5")});
        QVERIFY2(inspect.exitCode == 0, inspect.err.constData());
        const QStringList args{"report", "--session", path(dir / "s.h5"), "--out", path(dir / file.toStdString()), "--quiet"};
        verifyCancelled(interruptedAt("report section plan", args));
        QCOMPARE(namesIn(dir), QStringList{"s.h5"});
        // Unstopped, the same command writes the report.
        const CliRun whole = runCli(args);
        QVERIFY2(whole.exitCode == 0, whole.err.constData());
        QCOMPARE(namesIn(dir), (QStringList{file, "s.h5"}));
    }
};

QTEST_GUILESS_MAIN(TestCliInterrupt)
#include "test_cli_interrupt.moc"

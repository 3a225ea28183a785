// The workbench opens a session quantbench-cli wrote with --session (issue 13): the runs show
// in Results with their numbers, figures and texts, and saving the session from the workbench
// keeps every run's protocol.
#include <QProcess>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTest>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/store/session_store.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/views/results_view.h"
#include "ui/workbench_controller.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

bool runCli(const QStringList& args) {
    QProcess p;
    p.start(QStringLiteral(QB_CLI_PATH), args);
    if (!p.waitForStarted() || !p.waitForFinished(120000)) return false;
    if (p.exitCode() != 0) qWarning("%s", p.readAllStandardError().constData());
    return p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

QString path(const fs::path& p) { return QString::fromStdString(p.string()); }

/// A session made by `eval --session` then `quantize --session` on the bundled model.
fs::path cliSession(const fs::path& dir) {
    const fs::path model = test::bundledModelDir();
    std::ofstream(dir / "plan.json") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
    const fs::path session = dir / "cli.h5";
    const bool ok = runCli({"eval", "--model", path(model), "--text", path(test::bundledText("eval.txt")), "--ctx", "128",
                            "--max-windows", "2", "--threads", "2", "--session", path(session), "--json"}) &&
                    runCli({"quantize", "--model", path(model), "--plan", path(dir / "plan.json"), "--calib",
                            path(test::bundledText("calib.txt")), "--calib-windows", "4", "--calib-ctx", "128", "--out",
                            path(dir / "q"), "--threads", "2", "--session", path(session), "--json"});
    return ok ? session : fs::path();
}

}  // namespace

class TestCliSession : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
    }

    void theWorkbenchShowsTheRunsOfACliSessionAndKeepsTheirProtocol() {
        const fs::path dir = test::freshScratchDir("ui_cli_session");
        const fs::path session = cliSession(dir);
        QVERIFY(!session.empty());
        const core::SessionData written = core::SessionStore::read(session);
        QCOMPARE(int(written.runs.size()), 2);

        auto controller = std::make_unique<ui::WorkbenchController>();
        auto window = std::make_unique<ui::MainWindow>(controller.get());
        window->show();
        QCOMPARE(test::waitForJob(controller->openSession(path(session))), ui::JobState::Succeeded);
        QTRY_COMPARE(int(controller->workspace()->runs().size()), 2);
        const auto& runs = controller->workspace()->runs();
        const ui::RunRecord& eval = *runs[0];
        const ui::RunRecord& quant = *runs[1];
        QCOMPARE(eval.number, 1);
        QCOMPARE(eval.name, std::string("run 1 · eval stories260K"));
        QVERIFY(eval.perplexity.has_value());
        QCOMPARE(eval.perplexity->perplexity, written.runs[0].metrics.at("perplexity"));
        QCOMPARE(eval.perplexity->ctx, 128);
        QCOMPARE(eval.evaluationText, std::string("eval.txt"));  // the Texts column, from the protocol
        QCOMPARE(quant.number, 2);
        QVERIFY2(quant.name.rfind("run 2 · rtn w4 g32", 0) == 0, quant.name.c_str());  // titled by its plan
        QCOMPARE(quant.bitsPerWeight, written.runs[1].metrics.at("bits_per_weight"));
        QCOMPARE(int(quant.modules.size()), int(written.runs[1].moduleErrors.size()));
        QCOMPARE(quant.calibrationText, std::string("calib.txt"));
        QCOMPARE(quant.calibrationWindows, 4);

        // Results lists both runs by their titles.
        auto* table = window->resultsView()->runTable();
        QVERIFY(table);
        QCOMPARE(table->rowCount(), 2);
        QCOMPARE(table->item(0, 0)->text(), QStringLiteral("run 1 · eval stories260K"));
        QCOMPARE(table->item(1, 0)->text(), QString::fromStdString(quant.name));

        // Saved by the workbench, the runs keep their protocol and where they came from.
        const QString resaved = path(dir / "resaved.h5");
        QVERIFY(controller->saveSession(resaved));
        QCOMPARE(test::waitForJob(controller->jobs()->jobs().last()), ui::JobState::Succeeded);
        const core::SessionData back = core::SessionStore::read(resaved.toStdString());
        QCOMPARE(int(back.runs.size()), 2);
        for (int i = 0; i < 2; ++i) {
            QVERIFY(back.runs[i].protocol.has_value());
            QVERIFY(*back.runs[i].protocol == *written.runs[i].protocol);
            QCOMPARE(back.runs[i].command, written.runs[i].command);
            QCOMPARE(back.runs[i].modelPath, written.runs[i].modelPath);
        }
    }
};

QTEST_MAIN(TestCliSession)
#include "test_cli_session.moc"

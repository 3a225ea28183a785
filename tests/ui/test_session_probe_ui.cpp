// The workbench opening sessions through the session probe (issue 17): the probe forks from
// the job's worker thread while the GUI thread runs; a file that crashes libhdf5 fails its
// job with the core's one line, and the workbench goes on to open a valid session.
#include <QStandardPaths>
#include <QTest>

#include <filesystem>

#include "core/store/session_store.h"
#include "support/test_support.h"
#include "ui/jobs/job_queue.h"
#include "ui/main_window.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/workbench_controller.h"

using namespace qb;
namespace fs = std::filesystem;

class TestSessionProbeUi : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
    }

    void init() {
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->show();
    }

    void cleanup() {
        m_window.reset();
        m_controller.reset();
    }

    void aSessionThatCrashesLibhdf5FailsItsJobAndTheWorkbenchLivesOn() {
        const fs::path dir = test::freshScratchDir("ui_session_probe");
        const fs::path crafted = dir / "crafted.h5";
        fs::copy_file(fs::path(QB_FUZZ_DIR) / "regressions/session_store/crash_H5HG_read", crafted);
        ui::Job* bad = m_controller->openSession(QString::fromStdString(crafted.string()));
        QCOMPARE(test::waitForJob(bad), ui::JobState::Failed);
        QVERIFY2(bad->errorMessage().startsWith(QString::fromStdString("error: " + crafted.string() +
                                                                       ": damaged session file (the HDF5 library crashed")),
                 qPrintable(bad->errorMessage()));

        // A valid session this process did not write (a copy), so it is probed too.
        core::SessionData data;
        data.provenance.modelPath = test::bundledModelDir().string();
        core::SessionStore::write(dir / "written.h5", data);
        const fs::path valid = dir / "valid.h5";
        fs::copy_file(dir / "written.h5", valid);
        QCOMPARE(test::waitForJob(m_controller->openSession(QString::fromStdString(valid.string()))),
                 ui::JobState::Succeeded);
        QTRY_VERIFY_WITH_TIMEOUT(m_controller->workspace()->hasModel(), 60000);
    }

private:
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
};

QTEST_MAIN(TestSessionProbeUi)
#include "test_session_probe_ui.moc"

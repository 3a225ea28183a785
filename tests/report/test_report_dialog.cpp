// File → Export Report… (issue 13), offscreen: the dialog lists the session's runs, its preview
// follows the ticked runs, Export writes the chosen format with the author it remembers, and a
// session that cannot be read shows its one-line error with Export disabled.
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QComboBox>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/store/session_store.h"
#include "support/test_support.h"
#include "ui/report/export_report_dialog.h"
#include "ui/report/report_writer.h"

using namespace qb;
namespace fs = std::filesystem;

namespace {

/// A session with three quantize-like runs (plan, size, perplexity, per-module errors).
fs::path makeSession(const fs::path& dir) {
    const fs::path file = dir / "s.h5";
    core::SessionProvenance provenance;
    provenance.modelPath = test::bundledModelDir().string();
    for (int i = 0; i < 3; ++i) {
        core::RunRecord run;
        run.planJson = R"({"default": {"method": "rtn", "bits": )" + std::to_string(i == 2 ? 8 : 4) + R"(, "group_size": 32}})";
        run.command = "quantize";
        run.metrics = {{"perplexity", 4.5 + i}, {"bits_per_weight", 5.0 + i}, {"bytes", 1000.0 * (i + 1)}};
        run.moduleErrors = {{"model.layers.0.self_attn.q_proj", 0.01 * (i + 1)}};
        core::SessionStore::appendNumberedRun(file, run, provenance);
    }
    return file;
}

std::string readBytes(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

class TestReportDialog : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test-report"));
        QCoreApplication::setApplicationName(QStringLiteral("quantbench-test-report"));
        QSettings().clear();
    }

    void previewFollowsTheTickedRunsAndExportWrites() {
        const fs::path dir = test::freshScratchDir("report_dialog");
        const fs::path session = makeSession(dir);
        ui::ExportReportDialog dialog(QString::fromStdString(session.string()), false);
        auto* runs = dialog.findChild<QListWidget*>(QStringLiteral("reportRuns"));
        QVERIFY(runs);
        QCOMPARE(runs->count(), 3);
        QVERIFY(dialog.previewText().contains(QStringLiteral("run 3")));
        runs->item(2)->setCheckState(Qt::Unchecked);
        QVERIFY(!dialog.previewText().contains(QStringLiteral("run 3")));
        QVERIFY(dialog.previewText().contains(QStringLiteral("run 2")));

        dialog.findChild<QLineEdit*>(QStringLiteral("reportAuthor"))->setText(QStringLiteral("Grace"));
        const fs::path out = dir / "r.json";
        QVERIFY(dialog.exportTo(QString::fromStdString(out.string())));
        const std::string json = readBytes(out);
        QVERIFY(json.find("\"author\": \"Grace\"") != std::string::npos);
        QVERIFY(json.find("run 3") == std::string::npos);  // unticked
        QCOMPARE(QSettings().value(QStringLiteral("report/author")).toString(), QStringLiteral("Grace"));
        QCOMPARE(ui::defaultReportAuthor(), QStringLiteral("Grace"));

        // The paper follows the dialog's choice and is remembered as QSettings report/paper.
        auto* paper = dialog.findChild<QComboBox*>(QStringLiteral("reportPaper"));
        QVERIFY(paper);
        paper->setCurrentIndex(paper->findText(QStringLiteral("Letter")));
        QVERIFY(dialog.exportTo(QString::fromStdString((dir / "r.pdf").string())));
        QCOMPARE(QSettings().value(QStringLiteral("report/paper")).toString(), QStringLiteral("letter"));
        QVERIFY(ui::defaultReportPaper() == core::PaperSize::Letter);

        QVERIFY(dialog.exportTo(QString::fromStdString((dir / "r.html").string())));
        QVERIFY(readBytes(dir / "r.html").find("<svg") != std::string::npos);
        // To look at the dialog: QB_REPORT_DIALOG_SHOT=/tmp/dialog.png
        if (const QString shot = qEnvironmentVariable("QB_REPORT_DIALOG_SHOT"); !shot.isEmpty()) {
            dialog.show();
            QVERIFY(dialog.grab().save(shot));
        }
    }

    void anUnreadableSessionDisablesExport() {
        const fs::path dir = test::freshScratchDir("report_dialog_bad");
        std::ofstream(dir / "bad.h5") << "garbage";
        ui::ExportReportDialog dialog(QString::fromStdString((dir / "bad.h5").string()), false);
        QVERIFY(!dialog.findChild<QPushButton*>(QStringLiteral("reportExport"))->isEnabled());
        QVERIFY(dialog.findChild<QLabel*>(QStringLiteral("reportStatus"))->text().startsWith(QStringLiteral("error: ")));
        QVERIFY(!dialog.exportTo(QString::fromStdString((dir / "r.html").string())));
        QVERIFY(!fs::exists(dir / "r.html"));
    }
};

QTEST_MAIN(TestReportDialog)
#include "test_report_dialog.moc"

// File → Export quantized model…: the dialog's compatibility summary for the bundled model's
// RTN int4 g32 checkpoint (in memory, and as the folder quantize writes), an export through the
// dialog that the independent check accepts, and the CLI's words on the error line.
#include <QtTest>
#include <QtWidgets>

#include "core/export/gguf_check.h"
#include "core/export/gguf_reader.h"
#include "core/quant/quantized_checkpoint.h"
#include "hf_export_fixtures.h"
#include "support/test_support.h"
#include "ui/export/export_model_dialog.h"
#include "ui/util/qt_convert.h"

using namespace qb;

namespace {

const std::string kRtn4g32 = R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";

// Waits for the dialog's summary (computed on a worker thread).
bool waitForSummary(ui::ExportModelDialog& d) {
    QSignalSpy spy(&d, &ui::ExportModelDialog::summaryChanged);
    return d.summary() || spy.wait(60000);
}

// (codes placed, kept F16, ffn_down rows kept F16 with the 172-column reason) read from the table widget.
struct TableCounts {
    int placed = 0, keptF16 = 0, downKept = 0, rows = 0;
};
TableCounts countTable(const ui::ExportModelDialog& d) {
    const auto* table = d.findChild<QTableWidget*>(QStringLiteral("exportSummary"));
    TableCounts c;
    c.rows = table->rowCount();
    for (int r = 0; r < table->rowCount(); ++r) {
        const QString how = table->item(r, 3)->text();
        c.placed += how == QStringLiteral("codes placed");
        c.keptF16 += how == QStringLiteral("kept F16");
        c.downKept += table->item(r, 0)->text().contains(QStringLiteral("ffn_down")) && table->item(r, 2)->text() == QStringLiteral("F16") &&
                      table->item(r, 5)->text().contains(QStringLiteral("172 columns"));
    }
    return c;
}

}  // namespace

class TestExportModelDialog : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        m_result = test::quantizeBundled(kRtn4g32);
        m_dir = test::freshScratchDir("ui-export-dialog");
        core::writeQuantizedCheckpoint(m_result, core::QuantPlan::fromJsonText(kRtn4g32, "plan"), test::bundledModelDir(), m_dir / "q");
    }

    // A workbench run in memory: Q4_1 places 30 modules' codes, the five 172-wide down_proj stay F16.
    void summaryOfARunInMemory() {
        ui::ExportModelDialog d({{QStringLiteral("run 1 · rtn w4 g32"), m_result.model, test::bundledModelDir()}});
        d.findChild<QComboBox*>(QStringLiteral("exportGgufType"))->setCurrentText(QStringLiteral("Q4_1"));
        QVERIFY(waitForSummary(d));
        const TableCounts c = countTable(d);
        QCOMPARE(c.rows, 1 + 5 * 7);  // token_embd + 35 linears
        QCOMPARE(c.placed, 30);
        QCOMPARE(c.keptF16, 5);
        QCOMPARE(c.downKept, 5);
        QCOMPARE(d.summary()->codesPlaced(), 30);
        QVERIFY(d.findChild<QLabel*>(QStringLiteral("exportTotals"))->text().contains(ui::withThousands(d.summary()->expectedBytes)));
        QVERIFY(d.findChild<QLineEdit*>(QStringLiteral("exportOutput"))->text().endsWith(QStringLiteral("-run-1-Q4_1.gguf")));
    }

    // The folder quantize wrote, chosen in the dialog: the same rows; the export through the
    // dialog writes a file of the summary's size that the independent check accepts.
    void exportOfACheckpointFolderPassesTheCheck() {
        ui::ExportModelDialog d({});
        d.findChild<QComboBox*>(QStringLiteral("exportGgufType"))->setCurrentText(QStringLiteral("Q4_1"));
        d.setCheckpointFolder(ui::toQString(m_dir / "q"));
        QVERIFY(waitForSummary(d));
        QCOMPARE(countTable(d).placed, 30);
        QCOMPARE(countTable(d).downKept, 5);
        const auto file = m_dir / "dialog.gguf";
        auto* output = d.findChild<QLineEdit*>(QStringLiteral("exportOutput"));
        output->setText(ui::toQString(file));
        emit output->textEdited(output->text());
        QSignalSpy finished(&d, &ui::ExportModelDialog::exportFinished);
        d.startExport();
        QVERIFY(d.isBusy());
        QVERIFY(finished.wait(120000));
        QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
        QVERIFY(finished.at(0).at(1).toString().contains(QStringLiteral("check passed")));
        QVERIFY(!d.isBusy());
        QCOMPARE(std::uint64_t(std::filesystem::file_size(file)), d.summary()->expectedBytes);
        // Checked again here, independently of the dialog's own check.
        const auto model = core::loadModel(m_dir / "q");
        const auto check = core::checkGgufExport(*core::GgufReader::open(file), *model, {}, 0);
        QVERIFY2(check.ok(), check.problems.empty() ? "" : check.problems.front().c_str());
        QVERIFY(d.lastResult() && d.lastResult()->ggufCheck && d.lastResult()->ggufCheck->logits->top1Agreement >= 0.99);

        // The offscreen picture of docs/screenshots/export-dialog.png.
        d.resize(1180, 720);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        QVERIFY(d.grab().save(QString::fromStdString((m_dir / "export-dialog.png").string())));
    }

    // The output head's type, as the CLI's --output-type: "auto" keeps llama-quantize's rule
    // (Q8_0 for the tied 64-column head under Q4_1), F16 puts the head in F16; the layers keep Q4_1.
    void outputHeadTypeReachesTheSummary() {
        ui::ExportModelDialog d({{QStringLiteral("run 1"), m_result.model, test::bundledModelDir()}});
        QVERIFY(waitForSummary(d));
        auto headRow = [&d]() -> const core::ExportSummaryRow* {
            for (const auto& row : d.summary()->rows)
                if (row.module == "token_embd.weight") return &row;
            return nullptr;
        };
        auto* head = d.findChild<QComboBox*>(QStringLiteral("exportGgufOutputType"));
        QVERIFY(head && head->isEnabled());
        QVERIFY(head->currentData().toString().isEmpty());  // auto
        QVERIFY(headRow());
        QCOMPARE(headRow()->target, std::string("Q8_0"));
        QSignalSpy spy(&d, &ui::ExportModelDialog::summaryChanged);
        head->setCurrentText(QStringLiteral("F16"));
        QVERIFY(spy.wait(60000));
        QVERIFY(d.summary() && headRow());
        QCOMPARE(headRow()->target, std::string("F16"));
        for (const auto& row : d.summary()->rows)
            if (row.module == "blk.0.attn_q.weight") QCOMPARE(row.target, std::string("Q4_1"));
        d.findChild<QComboBox*>(QStringLiteral("exportFormat"))->setCurrentText(QStringLiteral("gptq"));
        QVERIFY(!head->isEnabled());  // GGUF only
    }

    // A file in a folder that does not exist: the error line carries core's words, as the CLI
    // prints them ("error: <out>: the folder … does not exist"), and nothing is written.
    void badOutputShowsTheCliWords() {
        ui::ExportModelDialog d({{QStringLiteral("run 1"), m_result.model, test::bundledModelDir()}});
        QVERIFY(waitForSummary(d));
        const auto file = m_dir / "no-such-folder" / "x.gguf";
        auto* output = d.findChild<QLineEdit*>(QStringLiteral("exportOutput"));
        output->setText(ui::toQString(file));
        emit output->textEdited(output->text());
        QString cliWords;
        try {
            core::checkExportOutput("gguf", file);
        } catch (const core::Error& e) {
            cliWords = QString::fromUtf8(e.what());
        }
        QVERIFY(!cliWords.isEmpty());
        QSignalSpy finished(&d, &ui::ExportModelDialog::exportFinished);
        d.startExport();
        QVERIFY(finished.wait(60000));
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QCOMPARE(finished.at(0).at(1).toString(), QStringLiteral("error: ") + cliWords);
        QCOMPARE(d.findChild<QLabel*>(QStringLiteral("exportStatus"))->text(), QStringLiteral("error: ") + cliWords);
        QVERIFY(!std::filesystem::exists(file));
    }

    // A float model cannot go to the Hugging Face formats: the summary says why, Export stays off.
    void gptqOfAFloatModelIsRefusedInTheSummary() {
        ui::ExportModelDialog d({});
        d.findChild<QComboBox*>(QStringLiteral("exportFormat"))->setCurrentText(QStringLiteral("gptq"));
        d.setCheckpointFolder(ui::toQString(test::bundledModelDir()));
        QSignalSpy spy(&d, &ui::ExportModelDialog::summaryChanged);
        QVERIFY(spy.wait(60000));
        QVERIFY(!d.summary());
        QVERIFY(d.findChild<QLabel*>(QStringLiteral("exportTotals"))->text().startsWith(QStringLiteral("error: ")));
        QVERIFY(!d.findChild<QPushButton*>(QStringLiteral("exportStart"))->isEnabled());
    }

private:
    core::QuantizeResult m_result;
    std::filesystem::path m_dir;
};

QTEST_MAIN(TestExportModelDialog)
#include "test_export_model_dialog.moc"

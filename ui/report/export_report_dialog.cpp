#include "ui/report/export_report_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "core/report/report_text.h"
#include "core/store/session_store.h"
#include "core/util/error.h"
#include "ui/report/report_writer.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

ExportReportDialog::ExportReportDialog(const QString& sessionFile, bool unsavedChanges, QWidget* parent)
    : QDialog(parent), m_sessionFile(sessionFile) {
    setWindowTitle(tr("Export Report"));
    setObjectName(QStringLiteral("exportReportDialog"));
    resize(980, 640);
    auto* layout = new QVBoxLayout(this);
    auto* header = new QLabel(tr("Session: %1").arg(QFileInfo(sessionFile).fileName()), this);
    header->setToolTip(sessionFile);
    layout->addWidget(header);
    if (unsavedChanges)
        layout->addWidget(new QLabel(tr("The session has unsaved changes: the report shows it as last saved."), this));

    auto* split = new QSplitter(this);
    auto* left = new QWidget(split);
    auto* form = new QFormLayout(left);
    m_runs = new QListWidget(left);
    m_runs->setObjectName(QStringLiteral("reportRuns"));
    form->addRow(tr("Runs:"), m_runs);
    m_author = new QLineEdit(defaultReportAuthor(), left);
    m_author->setObjectName(QStringLiteral("reportAuthor"));
    form->addRow(tr("Author:"), m_author);
    m_paper = new QComboBox(left);
    m_paper->setObjectName(QStringLiteral("reportPaper"));
    m_paper->addItem(tr("A4"), QString::fromLatin1(core::paperSizeName(core::PaperSize::A4)));
    m_paper->addItem(tr("Letter"), QString::fromLatin1(core::paperSizeName(core::PaperSize::Letter)));
    m_paper->setCurrentIndex(defaultReportPaper() == core::PaperSize::Letter ? 1 : 0);
    m_paper->setToolTip(tr("The PDF's page size"));
    form->addRow(tr("Paper (PDF):"), m_paper);
    auto* out = new QHBoxLayout;
    const QString base = QFileInfo(sessionFile).absolutePath() + QLatin1Char('/') + QFileInfo(sessionFile).completeBaseName();
    m_output = new QLineEdit(base + QStringLiteral("-report.html"), left);
    m_output->setObjectName(QStringLiteral("reportOutput"));
    m_output->setToolTip(tr("The format follows the extension: .html, .pdf, .md, .csv or .json"));
    auto* browseButton = new QPushButton(tr("Browse…"), left);
    connect(browseButton, &QPushButton::clicked, this, &ExportReportDialog::browse);
    out->addWidget(m_output);
    out->addWidget(browseButton);
    form->addRow(tr("File:"), out);
    m_preview = new QTextBrowser(split);
    m_preview->setObjectName(QStringLiteral("reportPreview"));
    split->addWidget(left);
    split->addWidget(m_preview);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("reportStatus"));
    m_status->setWordWrap(true);
    layout->addWidget(m_status);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    QPushButton* exportButton = buttons->addButton(tr("&Export"), QDialogButtonBox::AcceptRole);
    exportButton->setObjectName(QStringLiteral("reportExport"));
    connect(exportButton, &QPushButton::clicked, this, [this] { exportTo(m_output->text()); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    try {
        m_session = std::make_shared<const core::SessionData>(core::SessionStore::read(toPath(sessionFile)));
        for (const auto& run : core::selectReportRuns(*m_session, {})) {
            auto* item = new QListWidgetItem(toQString(run.title), m_runs);
            item->setData(Qt::UserRole, run.number);
            item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
            item->setCheckState(Qt::Checked);
            if (run.number == 0) item->setFlags(item->flags() & ~Qt::ItemIsEnabled);  // baselines are the references
        }
    } catch (const core::Error& e) {
        m_status->setText(QStringLiteral("error: ") + QString::fromUtf8(e.what()));
        exportButton->setEnabled(false);
    }
    connect(m_runs, &QListWidget::itemChanged, this, &ExportReportDialog::updatePreview);
    updatePreview();
}

ExportReportDialog::~ExportReportDialog() = default;

std::vector<int> ExportReportDialog::selectedRuns() const {
    std::vector<int> runs;
    for (int i = 0; i < m_runs->count(); ++i) {
        const QListWidgetItem* item = m_runs->item(i);
        if (item->checkState() == Qt::Checked && item->data(Qt::UserRole).toInt() > 0) runs.push_back(item->data(Qt::UserRole).toInt());
    }
    // Nothing ticked would mean "every run" to the report: keep an impossible number instead.
    if (runs.empty()) runs.push_back(0);
    return runs;
}

void ExportReportDialog::updatePreview() {
    if (!m_session) return;
    core::ReportOptions options;
    options.runs = selectedRuns();
    options.author = m_author->text().toStdString();
    if (options.runs == std::vector<int>{0}) {
        m_preview->setPlainText(tr("Tick at least one run."));
        return;
    }
    try {
        m_preview->setMarkdown(toQString(core::reportToMarkdown(core::buildReport(*m_session, toPath(m_sessionFile), options))));
    } catch (const std::exception& e) {  // no exception may leave a slot
        m_preview->setPlainText(QStringLiteral("error: ") + QString::fromUtf8(e.what()));
    }
}

QString ExportReportDialog::previewText() const { return m_preview->toPlainText(); }

void ExportReportDialog::browse() {
    const QString file = QFileDialog::getSaveFileName(
        this, tr("Export Report"), m_output->text(),
        tr("HTML (*.html);;PDF (*.pdf);;Markdown (*.md);;CSV (*.csv);;JSON (*.json)"));
    if (!file.isEmpty()) m_output->setText(file);
}

bool ExportReportDialog::exportTo(const QString& file) {
    if (!m_session) return false;
    core::ReportOptions options;
    options.runs = selectedRuns();
    if (options.runs == std::vector<int>{0}) {
        m_status->setText(tr("Tick at least one run."));
        return false;
    }
    options.author = m_author->text().toStdString();
    options.paper = core::parsePaperSize(m_paper->currentData().toString().toStdString()).value_or(core::PaperSize::A4);
    QSettings().setValue(QStringLiteral("report/author"), m_author->text());
    QSettings().setValue(QStringLiteral("report/paper"), m_paper->currentData().toString());
    QElapsedTimer timer;
    timer.start();
    try {
        writeReport(toPath(m_sessionFile), toPath(file), options);
    } catch (const std::exception& e) {  // core::Error, or anything else: no exception may leave a slot
        m_status->setText(QStringLiteral("error: ") + QString::fromUtf8(e.what()));
        return false;
    }
    m_status->setText(tr("Wrote %1 in %2 s.").arg(file).arg(timer.elapsed() / 1000.0, 0, 'f', 2));
    return true;
}

void showExportReportDialog(QWidget* parent, const QString& sessionFile, bool unsavedChanges) {
    if (sessionFile.isEmpty()) {
        QMessageBox::information(parent, QObject::tr("Export Report"),
                                 QObject::tr("A report is made from a saved session: save the session first (File ▸ Save Session)."));
        return;
    }
    auto* dialog = new ExportReportDialog(sessionFile, unsavedChanges, parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

}  // namespace qb::ui

#include "ui/export/export_model_dialog.h"

#include <algorithm>

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include "core/export/gguf_types.h"
#include "core/quant/quantized_checkpoint.h"
#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

// The GGUF types in the order the CLI lists them ("F32, F16, …").
QStringList ggufTypeNames() {
    return toQString(core::ggmlTypeNamesText()).split(QStringLiteral(", "));
}

QString checkLine(const core::ExportRunResult& r) {
    if (r.ggufCheck && r.ggufCheck->logits) {
        const auto& l = *r.ggufCheck->logits;
        return QObject::tr("check passed: max |Δlogit| %1 (max |logit| %2), top-1 agreement %3 %").arg(l.maxAbsDiff, 0, 'g', 3)
            .arg(l.maxAbsLogit, 0, 'g', 3).arg(100.0 * l.top1Agreement, 0, 'f', 1);
    }
    if (r.hfCheck && r.hfCheck->logits) {
        const auto& l = *r.hfCheck->logits;
        return QObject::tr("check passed: max |Δlogit| %1 (max |logit| %2), top-1 agreement %3 %").arg(l.maxAbsDiff, 0, 'g', 3)
            .arg(l.maxAbsLogit, 0, 'g', 3).arg(100.0 * l.top1Agreement, 0, 'f', 1);
    }
    return QObject::tr("not checked");
}

}  // namespace

ExportModelDialog::ExportModelDialog(std::vector<ExportSource> runs, QWidget* parent) : QDialog(parent), m_runs(std::move(runs)) {
    setWindowTitle(tr("Export Quantized Model"));
    setObjectName(QStringLiteral("exportModelDialog"));
    resize(1000, 620);
    buildForm();
    connect(&m_summaryWatcher, &QFutureWatcher<SummaryOutcome>::finished, this, &ExportModelDialog::summaryDone);
    connect(&m_exportWatcher, &QFutureWatcher<ExportOutcome>::finished, this, &ExportModelDialog::exportDone);
    sourceChanged();
}

ExportModelDialog::~ExportModelDialog() {
    m_run.requestStop();
    m_exportWatcher.waitForFinished();
    m_summaryWatcher.waitForFinished();
}

void ExportModelDialog::buildForm() {
    auto* layout = new QVBoxLayout(this);
    auto* form = new QFormLayout;
    m_source = new QComboBox(this);
    m_source->setObjectName(QStringLiteral("exportSource"));
    for (const auto& run : m_runs) m_source->addItem(run.label + tr(" (in memory)"));
    m_source->addItem(tr("Checkpoint folder…"));
    form->addRow(tr("Quantized model:"), m_source);
    auto* folderRow = new QHBoxLayout;
    m_folder = new QLineEdit(this);
    m_folder->setObjectName(QStringLiteral("exportFolder"));
    m_folder->setPlaceholderText(tr("a folder quantize wrote (config.json, model.safetensors, quantization_config)"));
    m_folderBrowse = new QPushButton(tr("Browse…"), this);
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(m_folderBrowse);
    form->addRow(tr("Checkpoint:"), folderRow);
    m_format = new QComboBox(this);
    m_format->setObjectName(QStringLiteral("exportFormat"));
    for (const auto& f : core::exportFormatNames()) m_format->addItem(toQString(f));
    m_ggufType = new QComboBox(this);
    m_ggufType->setObjectName(QStringLiteral("exportGgufType"));
    m_ggufType->addItems(ggufTypeNames());
    m_ggufType->setCurrentText(QStringLiteral("Q4_1"));
    // The output head's type (llama-quantize's --output-tensor-type, the CLI's --output-type):
    // every logit passes through it, so llama-quantize's rule keeps it wider than the layers.
    m_ggufOutputType = new QComboBox(this);
    m_ggufOutputType->setObjectName(QStringLiteral("exportGgufOutputType"));
    m_ggufOutputType->addItem(tr("auto (llama-quantize's rule)"), QString());
    for (const QString& name : ggufTypeNames()) m_ggufOutputType->addItem(name, name);
    m_gptqFormat = new QComboBox(this);
    m_gptqFormat->setObjectName(QStringLiteral("exportGptqFormat"));
    m_gptqFormat->addItem(tr("auto (v1 when every zero point allows it)"), QStringLiteral("auto"));
    m_gptqFormat->addItem(tr("gptq (v1: zero − 1)"), QStringLiteral("gptq"));
    m_gptqFormat->addItem(tr("gptq_v2 (zero as is)"), QStringLiteral("gptq_v2"));
    auto* formatRow = new QHBoxLayout;
    formatRow->addWidget(m_format);
    formatRow->addWidget(new QLabel(tr("GGUF type:"), this));
    formatRow->addWidget(m_ggufType);
    formatRow->addWidget(new QLabel(tr("Output head:"), this));
    formatRow->addWidget(m_ggufOutputType);
    formatRow->addWidget(new QLabel(tr("GPTQ checkpoint format:"), this));
    formatRow->addWidget(m_gptqFormat);
    formatRow->addStretch(1);
    form->addRow(tr("Format:"), formatRow);
    auto* outRow = new QHBoxLayout;
    m_output = new QLineEdit(this);
    m_output->setObjectName(QStringLiteral("exportOutput"));
    auto* outBrowse = new QPushButton(tr("Browse…"), this);
    outRow->addWidget(m_output, 1);
    outRow->addWidget(outBrowse);
    form->addRow(tr("Output:"), outRow);
    layout->addLayout(form);

    m_table = new QTableWidget(0, 6, this);
    m_table->setObjectName(QStringLiteral("exportSummary"));
    m_table->setHorizontalHeaderLabels({tr("Module"), tr("Checkpoint"), tr("File"), tr("How"), tr("Bytes"), tr("Reason")});
    m_table->verticalHeader()->setVisible(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(m_table, 1);
    m_totals = new QLabel(this);
    m_totals->setObjectName(QStringLiteral("exportTotals"));
    m_totals->setWordWrap(true);
    layout->addWidget(m_totals);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    m_progress->setVisible(false);
    layout->addWidget(m_progress);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("exportStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_status);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_exportButton = buttons->addButton(tr("&Export and Check"), QDialogButtonBox::AcceptRole);
    m_exportButton->setObjectName(QStringLiteral("exportStart"));
    layout->addWidget(buttons);

    connect(m_source, &QComboBox::currentIndexChanged, this, &ExportModelDialog::sourceChanged);
    connect(m_folder, &QLineEdit::editingFinished, this, [this] { setCheckpointFolder(m_folder->text()); });
    connect(m_folderBrowse, &QPushButton::clicked, this, &ExportModelDialog::browseFolder);
    connect(m_format, &QComboBox::currentIndexChanged, this, &ExportModelDialog::optionsChanged);
    connect(m_ggufType, &QComboBox::currentIndexChanged, this, &ExportModelDialog::optionsChanged);
    connect(m_ggufOutputType, &QComboBox::currentIndexChanged, this, &ExportModelDialog::optionsChanged);
    connect(m_gptqFormat, &QComboBox::currentIndexChanged, this, &ExportModelDialog::optionsChanged);
    connect(m_output, &QLineEdit::textEdited, this, [this] { m_outputEdited = true; });
    connect(outBrowse, &QPushButton::clicked, this, &ExportModelDialog::browseOutput);
    connect(m_exportButton, &QPushButton::clicked, this, &ExportModelDialog::startExport);
    connect(buttons, &QDialogButtonBox::rejected, this, [this] {
        if (m_busy) m_run.requestStop();  // Close while exporting cancels first
        else reject();
    });
}

core::ExportTarget ExportModelDialog::target() const {
    core::ExportTarget t;
    t.format = m_format->currentText().toStdString();
    t.ggufType = core::parseGgmlType(m_ggufType->currentText().toStdString()).value_or(core::GgmlType::Q4_1);
    const QString head = m_ggufOutputType->currentData().toString();
    if (!head.isEmpty()) t.ggufOutputType = core::parseGgmlType(head.toStdString());
    const QString zeros = m_gptqFormat->currentData().toString();
    if (zeros == QStringLiteral("gptq")) t.gptqZeros = core::GptqZeroFormat::V1;
    else if (zeros == QStringLiteral("gptq_v2")) t.gptqZeros = core::GptqZeroFormat::V2;
    return t;
}

QString ExportModelDialog::defaultOutput() const {
    if (m_dir.empty()) return {};
    const std::filesystem::path dir = std::filesystem::absolute(m_dir).lexically_normal();
    std::string stem = dir.filename().string();
    const int i = m_source->currentIndex();
    if (i < int(m_runs.size())) {
        std::string run = m_runs[std::size_t(i)].label.section(QStringLiteral(" · "), 0, 0).toStdString();  // "run 3"
        std::replace(run.begin(), run.end(), ' ', '-');
        stem += "-" + run;
    }
    const core::ExportTarget t = target();
    stem += '-';  // appended piece by piece: GCC 12 warns falsely (-Wstringop-overflow) on "lit" + std::string&&
    if (t.format == "gguf") {
        stem += core::ggmlTypeName(t.ggufType);
        stem += ".gguf";
    } else {
        stem += t.format;
    }
    return toQString(dir.parent_path() / stem);
}

void ExportModelDialog::sourceChanged() {
    const int i = m_source->currentIndex();
    if (i >= int(m_runs.size())) {
        m_model.reset();
        m_dir = toPath(m_folder->text());
    } else {
        m_model = m_runs[std::size_t(i)].model;
        m_dir = m_runs[std::size_t(i)].dir;
    }
    optionsChanged();
}

void ExportModelDialog::setCheckpointFolder(const QString& dir) {
    m_folder->setText(dir);
    if (m_source->currentIndex() != m_source->count() - 1) m_source->setCurrentIndex(m_source->count() - 1);  // → sourceChanged
    else sourceChanged();
}

void ExportModelDialog::optionsChanged() {
    if (!m_outputEdited) m_output->setText(defaultOutput());
    refreshSummary();
}

void ExportModelDialog::refreshSummary() {
    m_summary.reset();
    m_table->setRowCount(0);
    ++m_generation;
    updateEnabled();
    if (m_dir.empty()) {
        m_totals->setText(tr("Choose a quantized checkpoint folder."));
        emit summaryChanged();
        return;
    }
    m_totals->setText(tr("Computing the compatibility summary…"));
    m_summaryWatcher.setFuture(QtConcurrent::run([model = m_model, dir = m_dir, t = target(), generation = m_generation] {
        SummaryOutcome o;
        o.dir = dir;
        o.generation = generation;
        try {
            o.model = model ? model : std::shared_ptr<const core::LlamaModel>(core::loadModel(dir));
            o.summary = core::summarizeExport(*o.model, dir, t);
        } catch (const std::exception& e) {  // core::Error and anything else: shown, never thrown across the thread
            o.error = QString::fromUtf8(e.what());
        }
        return o;
    }));
}

void ExportModelDialog::summaryDone() {
    const SummaryOutcome o = m_summaryWatcher.result();
    if (o.generation != m_generation) return;  // settings changed meanwhile; a newer summary is on its way
    if (o.model && o.dir == m_dir) m_model = o.model;
    if (!o.error.isEmpty()) {
        m_totals->setText(QStringLiteral("error: ") + o.error);
    } else {
        m_summary = o.summary;
        fillTable();
    }
    updateEnabled();
    emit summaryChanged();
}

void ExportModelDialog::fillTable() {
    const core::ExportSummary& s = *m_summary;
    m_table->setRowCount(int(s.rows.size()));
    for (int r = 0; r < int(s.rows.size()); ++r) {
        const auto& row = s.rows[std::size_t(r)];
        const QStringList cells{toQString(row.module), toQString(row.source), toQString(row.target), toQString(row.how),
                                withThousands(row.bytes), toQString(row.reason)};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            if (c == 4) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (c == 5) item->setToolTip(cells[c]);
            if (c == 3 && (row.how == "kept F16" || row.how == "re-quantized")) {  // what the user may want to know first
                QFont bold = item->font();
                bold.setBold(true);
                item->setFont(bold);
            }
            m_table->setItem(r, c, item);
        }
    }
    m_table->resizeColumnsToContents();
    QString totals = tr("%1 (%2): %3 matrices — %4 codes placed, %5 re-quantized, %6 kept F16. Expected size %7%8 (%9 bytes).")
                         .arg(toQString(s.format), toQString(s.variant)).arg(s.rows.size()).arg(s.codesPlaced()).arg(s.requantized())
                         .arg(s.keptF16()).arg(s.exactSize ? QString() : tr("about "), humanBytes(double(s.expectedBytes)))
                         .arg(withThousands(s.expectedBytes));
    if (!s.warnings.empty()) totals += tr(" %n warning(s): the reasons column says why.", nullptr, int(s.warnings.size()));
    m_totals->setText(totals);
}

void ExportModelDialog::browseFolder() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Quantized checkpoint folder"), m_folder->text());
    if (!dir.isEmpty()) setCheckpointFolder(dir);
}

void ExportModelDialog::browseOutput() {
    const bool gguf = m_format->currentText() == QStringLiteral("gguf");
    const QString path = gguf ? QFileDialog::getSaveFileName(this, tr("GGUF file"), m_output->text(), tr("GGUF (*.gguf)"))
                              : QFileDialog::getExistingDirectory(this, tr("Output folder (empty or new)"), m_output->text());
    if (path.isEmpty()) return;
    m_output->setText(path);
    m_outputEdited = true;
}

void ExportModelDialog::updateEnabled() {
    const bool folder = m_source->currentIndex() >= int(m_runs.size());
    const std::string format = m_format->currentText().toStdString();
    m_source->setEnabled(!m_busy);
    m_folder->setEnabled(!m_busy && folder);
    m_folderBrowse->setEnabled(!m_busy && folder);
    m_format->setEnabled(!m_busy);
    m_ggufType->setEnabled(!m_busy && format == "gguf");
    m_ggufOutputType->setEnabled(!m_busy && format == "gguf");
    m_gptqFormat->setEnabled(!m_busy && format == "gptq");
    m_output->setEnabled(!m_busy);
    m_exportButton->setEnabled(!m_busy && m_summary && m_model);
}

void ExportModelDialog::setBusy(bool busy) {
    m_busy = busy;
    m_progress->setVisible(busy);
    updateEnabled();
}

void ExportModelDialog::startExport() {
    if (m_busy || !m_model || !m_summary) return;
    core::ExportRunOptions options;
    options.target = target();
    options.out = toPath(m_output->text());
    m_result.reset();
    m_progress->setValue(0);
    m_status->setText(tr("Exporting…"));
    QProgressBar* bar = m_progress;
    m_run = core::RunContext(
        [bar](double fraction, std::string_view) {
            QMetaObject::invokeMethod(bar, [bar, fraction] { bar->setValue(int(fraction * 1000)); }, Qt::QueuedConnection);
        },
        {});
    setBusy(true);
    m_exportWatcher.setFuture(QtConcurrent::run([model = m_model, dir = m_dir, options, run = m_run] {
        ExportOutcome o;
        try {
            o.result = core::exportAndCheck(*model, dir, options, &run);
        } catch (const std::exception& e) {  // core::Error, Cancelled, bad_alloc: the status line, never a crash
            o.error = QString::fromUtf8(e.what());
        }
        return o;
    }));
}

void ExportModelDialog::exportDone() {
    const ExportOutcome o = m_exportWatcher.result();
    setBusy(false);
    QString line;
    bool ok = false;
    if (!o.error.isEmpty()) line = QStringLiteral("error: ") + o.error;
    else if (!o.result->ok()) line = QStringLiteral("error: ") + toQString(o.result->failure);
    else {
        ok = true;
        const std::uint64_t bytes = o.result->gguf ? o.result->gguf->fileBytes : o.result->hf->bytes;
        line = tr("Wrote %1 (%2, %3 bytes); %4.").arg(m_output->text(), humanBytes(double(bytes)), withThousands(bytes), checkLine(*o.result));
    }
    m_result = o.result;
    m_status->setText(line);
    emit exportFinished(ok, line);
}

std::vector<ExportSource> exportSources(const Workspace& workspace) {
    std::vector<ExportSource> sources;
    if (!workspace.model()) return sources;
    const auto& runs = workspace.runs();
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (!(*it)->isBaseline() && (*it)->model) sources.push_back({toQString((*it)->name), (*it)->model, workspace.model()->dir});
    return sources;
}

void showExportModelDialog(QWidget* parent, const Workspace& workspace) {
    auto* dialog = new ExportModelDialog(exportSources(workspace), parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

}  // namespace qb::ui

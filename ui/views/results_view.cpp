#include "ui/views/results_view.h"

#include <cmath>

#include <QComboBox>
#include <QFileDialog>
#include <QMenu>
#include <QToolButton>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include "qcustomplot.h"
#include <QUndoStack>

#include "ui/models/plan_document.h"
#include "ui/models/run_commands.h"
#include "ui/models/workspace.h"
#include "ui/plots/latency_plots.h"
#include "ui/plots/plot_support.h"
#include "ui/plots/results_plots.h"
#include "ui/views/kld_panel.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

namespace {

enum RunColumn { Name, Bpw, Size, Perplexity, DeltaFp16, DeltaAsLoaded, Decode, Prefill, QuantizeTime, Texts, RunColumnCount };

/// The run's texts and protocol, one line each ("calibration: …", "evaluation: …").
QString textsTooltip(const RunRecord& r) {
    QStringList lines;
    if (r.hasCalibration()) lines << QObject::tr("calibration: %1").arg(toQString(calibrationProtocol(r)));
    if (!r.evaluationText.empty()) lines << QObject::tr("evaluation: %1").arg(toQString(evaluationProtocol(r)));
    return lines.join(QLatin1Char('\n'));
}

QTableWidgetItem* cell(const QString& text, bool measured = true) {
    auto* item = new QTableWidgetItem(measured ? text : QObject::tr("not measured"));
    if (!measured) {
        QFont f = item->font();
        f.setItalic(true);
        item->setFont(f);
        item->setForeground(QColor(128, 128, 128));
    }
    return item;
}

/// Rows a little taller than the text, so the run list shows many runs.
int compactRowHeight(const QWidget* table) { return table->fontMetrics().height() + 8; }

}  // namespace

ResultsView::ResultsView(Workspace* workspace, EvaluateSettings* evaluation, CalibrationSettings* calibration, QWidget* parent)
    : QWidget(parent), m_workspace(workspace), m_evaluation(evaluation), m_calibration(calibration),
      m_table(new QTableWidget(0, RunColumnCount, this)), m_perplexity(createPerplexityPlot()), m_latency(createLatencyPlot()),
      m_prefill(createPrefillPlot()), m_pareto(createParetoPlot()), m_moduleError(createModuleErrorPlot(QStringLiteral("moduleErrorBars"))) {
    setObjectName(QStringLiteral("ResultsView"));
    m_table->setObjectName(QStringLiteral("runTable"));
    m_table->setHorizontalHeaderLabels({tr("Run"), tr("Bits/weight"), tr("Size"), tr("Perplexity"), tr("Δ vs FP16"), tr("Δ vs as loaded"),
                                        tr("Decode ms/token"), tr("Prefill tokens/s"), tr("Quantize time"), tr("Texts")});
    m_table->horizontalHeaderItem(Texts)->setToolTip(tr("Calibration text → evaluation text of the run; the tooltip gives their SHA-256 and the protocol"));
    m_table->horizontalHeaderItem(Bpw)->setToolTip(tr("Storage bits per weight of the decoder layers' linear modules"));
    m_table->horizontalHeaderItem(DeltaFp16)->setToolTip(tr("Perplexity change relative to the FP16 baseline (linears rounded to F16), in percent"));
    m_table->horizontalHeaderItem(DeltaAsLoaded)->setToolTip(tr("Perplexity change relative to the model as loaded (e.g. F32), in percent"));
    m_table->horizontalHeaderItem(Decode)->setToolTip(tr("Median greedy KV-cache decode step, from the benchmark job; 'not measured' until one has run"));
    m_table->horizontalHeaderItem(Prefill)->setToolTip(tr("Prompt tokens per second of the prefill, from the benchmark job"));
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);  // the run's name only
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(Name, QHeaderView::Stretch);

    auto* plots = new QWidget(this);
    auto* grid = new QGridLayout(plots);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(m_perplexity, 0, 0);
    grid->addWidget(m_pareto, 0, 1);
    grid->addWidget(m_latency, 0, 2);
    grid->addWidget(m_moduleError, 1, 0, 1, 2);
    grid->addWidget(m_prefill, 1, 2);
    grid->setColumnStretch(0, 3);
    grid->setColumnStretch(1, 3);
    grid->setColumnStretch(2, 4);  // the speed plots write their ratios beside the bars
    auto* overview = new QSplitter(Qt::Vertical, this);
    overview->addWidget(m_table);
    overview->addWidget(plots);
    overview->setStretchFactor(0, 1);
    overview->setStretchFactor(1, 2);
    m_table->verticalHeader()->setDefaultSectionSize(compactRowHeight(m_table));
    m_table->setMinimumHeight(compactRowHeight(m_table) * 8);  // the header and 7 runs

    auto* tabs = new QTabWidget(this);
    m_kldPanel = new KldPanel(m_workspace, this);
    tabs->addTab(overview, tr("All runs"));
    tabs->addTab(buildCompare(), tr("Compare two runs"));
    tabs->addTab(m_kldPanel, tr("Against FP16"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(buildSettingsBar());
    layout->addWidget(tabs, 1);

    connect(m_workspace, &Workspace::runsChanged, this, &ResultsView::refresh);
    connect(m_workspace, &Workspace::autoPlanFrontierChanged, this,
            [this] { fillPareto(m_pareto, m_workspace->runs(), m_workspace->autoPlanFrontier().get()); });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] { fillModuleErrors(m_moduleError, {selectedRun()}); });
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* item) {
        // Queued: the rename rebuilds the table, which must not happen inside the editor's commit.
        if (item->column() == Name)
            QMetaObject::invokeMethod(this, [this, id = item->data(Qt::UserRole).toInt(), text = item->text()] { renameRun(id, text); },
                                      Qt::QueuedConnection);
    });
    refresh();
}

QWidget* ResultsView::buildSettingsBar() {
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    auto* ctx = new QSpinBox(bar);
    ctx->setRange(16, 32768);
    ctx->setValue(m_evaluation->ctx);
    ctx->setSuffix(tr(" tokens"));
    ctx->setToolTip(tr("Window length of the perplexity evaluation (non-overlapping windows)"));
    auto* windows = new QSpinBox(bar);
    windows->setRange(0, 100000);
    windows->setSpecialValueText(tr("all"));
    windows->setValue(m_evaluation->maxWindows.value_or(0));
    windows->setToolTip(tr("Score only the first N windows of the evaluation text (all = the whole text)"));
    auto* calib = new QSpinBox(bar);
    calib->setRange(1, 4096);
    calib->setValue(m_calibration->windows);
    calib->setToolTip(tr("Calibration windows drawn from the calibration text for Inspect and Quantize (seeded)"));
    m_calibrationText = buildTextPicker(QStringLiteral("calibrationTextButton"), tr("calibration"), &ResultsView::calibrationTextChosen);
    m_evaluationText = buildTextPicker(QStringLiteral("evaluationTextButton"), tr("evaluation"), &ResultsView::evaluationTextChosen);
    auto* evaluate = new QPushButton(tr("Evaluate baseline (F7)"), bar);
    evaluate->setObjectName(QStringLiteral("evaluateButton"));
    evaluate->setToolTip(tr("Perplexity of the model as loaded and of its FP16 version (linears rounded to F16)"));
    auto* quantize = new QPushButton(tr("Quantize with plan (F5)"), bar);
    quantize->setObjectName(QStringLiteral("quantizeButton"));
    auto* benchmark = new QPushButton(tr("Benchmark runs (F8)"), bar);
    benchmark->setObjectName(QStringLiteral("benchmarkButton"));
    benchmark->setToolTip(tr("Prefill tokens/s and decode ms/token of every run not measured yet, and of the FP16 reference"));
    row->addWidget(new QLabel(tr("Evaluation context:"), bar));
    row->addWidget(ctx);
    row->addWidget(new QLabel(tr("max windows:"), bar));
    row->addWidget(windows);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Calibration windows:"), bar));
    row->addWidget(calib);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Texts:"), bar));
    row->addWidget(m_calibrationText);
    row->addWidget(m_evaluationText);
    row->addStretch(1);
    row->addWidget(evaluate);
    row->addWidget(quantize);
    row->addWidget(benchmark);
    connect(ctx, &QSpinBox::valueChanged, this, [this](int v) {
        m_evaluation->ctx = v;
        m_calibration->ctx = v;
    });
    connect(windows, &QSpinBox::valueChanged, this,
            [this](int v) { m_evaluation->maxWindows = v == 0 ? std::nullopt : std::optional<int>(v); });
    connect(calib, &QSpinBox::valueChanged, this, [this](int v) { m_calibration->windows = v; });
    connect(evaluate, &QPushButton::clicked, this, &ResultsView::evaluateRequested);
    connect(quantize, &QPushButton::clicked, this, &ResultsView::quantizeRequested);
    connect(benchmark, &QPushButton::clicked, this, &ResultsView::benchmarkRequested);
    return bar;
}

QToolButton* ResultsView::buildTextPicker(const QString& objectName, const QString& what, void (ResultsView::*chosen)(const QString&)) {
    auto* button = new QToolButton(this);
    button->setObjectName(objectName);
    button->setPopupMode(QToolButton::InstantPopup);
    button->setToolButtonStyle(Qt::ToolButtonTextOnly);
    auto* menu = new QMenu(button);
    menu->addAction(tr("Choose a text file…"), this, [this, what, chosen] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Choose the %1 text").arg(what), {}, tr("Text files (*.txt);;All files (*)"));
        if (!file.isEmpty()) emit(this->*chosen)(file);
    });
    menu->addAction(tr("Choose a folder of .txt files…"), this, [this, what, chosen] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a folder of %1 texts (*.txt, read in name order)").arg(what));
        if (!dir.isEmpty()) emit(this->*chosen)(dir);
    });
    menu->addSeparator();
    menu->addAction(tr("Use the bundled text"), this, [this, chosen] { emit(this->*chosen)(QString()); });
    button->setMenu(menu);
    return button;
}

void ResultsView::showTexts(const QString& calibrationLabel, bool calibrationBundled, const QString& evaluationLabel, bool evaluationBundled) {
    const auto show = [](QToolButton* button, const QString& what, const QString& label, bool bundled) {
        button->setText(tr("%1: %2").arg(what, label));
        button->setToolTip(bundled ? tr("The %1 text is the bundled %2 (the default). Click to choose a file or a folder of your own; "
                                        "the choice is remembered for this model.").arg(what.toLower(), label)
                                   : tr("The %1 text is %2, chosen for this model. Click to choose another or the bundled text.")
                                         .arg(what.toLower(), label));
    };
    show(m_calibrationText, tr("Calibration"), calibrationLabel, calibrationBundled);
    show(m_evaluationText, tr("Evaluation"), evaluationLabel, evaluationBundled);
}

QWidget* ResultsView::buildCompare() {
    auto* page = new QWidget(this);
    m_compareA = new QComboBox(page);
    m_compareB = new QComboBox(page);
    m_compareTable = new QTableWidget(0, 4, page);
    m_compareTable->setObjectName(QStringLiteral("compareTable"));
    m_compareTable->setHorizontalHeaderLabels({tr("Metric"), tr("A"), tr("B"), tr("B − A")});
    m_compareTable->verticalHeader()->hide();
    m_compareTable->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_compareTable->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_compareTable->verticalHeader()->setDefaultSectionSize(compactRowHeight(m_compareTable));
    m_compareTable->setMinimumHeight(compactRowHeight(m_compareTable) * 8);
    m_compareError = createModuleErrorPlot(QStringLiteral("compareErrorBars"));
    auto* pick = new QHBoxLayout;
    pick->addWidget(new QLabel(tr("Run A:"), page));
    pick->addWidget(m_compareA, 1);
    pick->addWidget(new QLabel(tr("Run B:"), page));
    pick->addWidget(m_compareB, 1);
    auto* split = new QSplitter(Qt::Vertical, page);
    split->addWidget(m_compareTable);
    split->addWidget(m_compareError);
    split->setStretchFactor(1, 3);
    m_protocolWarning = new QLabel(page);
    m_protocolWarning->setObjectName(QStringLiteral("protocolWarning"));
    m_protocolWarning->setWordWrap(true);
    m_protocolWarning->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_protocolWarning->setStyleSheet(QStringLiteral("QLabel { color: %1; font-weight: bold; }").arg(warningColor().name()));
    m_protocolWarning->hide();
    auto* layout = new QVBoxLayout(page);
    layout->addLayout(pick);
    layout->addWidget(m_protocolWarning);
    layout->addWidget(split, 1);
    connect(m_compareA, &QComboBox::activated, this, [this] { m_comparePicked = true; });
    connect(m_compareB, &QComboBox::activated, this, [this] { m_comparePicked = true; });
    connect(m_compareA, &QComboBox::currentIndexChanged, this, &ResultsView::fillCompare);
    connect(m_compareB, &QComboBox::currentIndexChanged, this, &ResultsView::fillCompare);
    return page;
}

RunPtr ResultsView::selectedRun() const {
    const auto rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty()) return nullptr;
    return m_workspace->findRun(m_table->item(rows.first().row(), Name)->data(Qt::UserRole).toInt());
}

void ResultsView::refresh() {
    const auto& runs = m_workspace->runs();
    fillTable();
    fillPerplexity(m_perplexity, runs);
    fillLatency(m_latency, runs);
    fillPrefill(m_prefill, runs);
    fillPareto(m_pareto, runs, m_workspace->autoPlanFrontier().get());
    m_kldPanel->refresh();
    // Select the newest quantized run so its per-module error shows.
    for (int row = m_table->rowCount() - 1; row >= 0; --row) {
        const auto run = m_workspace->findRun(m_table->item(row, Name)->data(Qt::UserRole).toInt());
        if (run && !run->modules.empty()) {
            m_table->selectRow(row);
            break;
        }
    }
    fillModuleErrors(m_moduleError, {selectedRun()});
    const QSignalBlocker blockA(m_compareA), blockB(m_compareB);
    int a = m_compareA->currentData().toInt(), b = m_compareB->currentData().toInt();
    m_compareA->clear();
    m_compareB->clear();
    for (const auto& r : runs) {
        m_compareA->addItem(toQString(r->name), r->id);
        m_compareB->addItem(toQString(r->name), r->id);
    }
    // A pair the user picked stays while both runs exist; otherwise the defaults.
    if (!m_comparePicked || a == b || !m_workspace->findRun(a) || !m_workspace->findRun(b)) {
        const auto [defaultA, defaultB] = defaultComparison(runs);
        a = defaultA;
        b = defaultB;
        m_comparePicked = false;
    }
    m_compareA->setCurrentIndex(m_compareA->findData(a));
    m_compareB->setCurrentIndex(m_compareB->findData(b));
    fillCompare();
}

void ResultsView::fillTable() {
    const auto& runs = m_workspace->runs();
    const auto fp16 = m_workspace->fp16BaselineRun();
    const auto asLoaded = m_workspace->runOfKind(RunKind::Baseline);
    m_table->horizontalHeaderItem(DeltaAsLoaded)->setText(asLoaded ? tr("Δ vs %1").arg(shortRunLabel(*asLoaded)) : tr("Δ vs as loaded"));
    const QSignalBlocker block(m_table);
    m_table->setRowCount(int(runs.size()));
    const auto deltaCell = [](const RunRecord& r, const RunPtr& reference) {
        if (reference && r.id == reference->id) return cell(tr("reference"));
        const auto delta = perplexityDelta(r, reference);
        return cell(delta ? deltaText(*delta, 2) : QString(), bool(delta));
    };
    for (int row = 0; row < int(runs.size()); ++row) {
        const RunRecord& r = *runs[std::size_t(row)];
        auto* name = cell(toQString(r.name));
        name->setData(Qt::UserRole, r.id);
        name->setToolTip(r.kind == RunKind::Baseline       ? tr("the model as loaded")
                         : r.kind == RunKind::Fp16Baseline ? tr("the model with every linear rounded to F16")
                                                           : tr("Double-click to name this run (Ctrl+Z undoes it)\n%1").arg(toQString(r.planJson)));
        if (const QString texts = textsTooltip(r); !texts.isEmpty()) name->setToolTip(name->toolTip() + QLatin1Char('\n') + texts);
        if (r.isBaseline()) name->setFlags(name->flags() & ~Qt::ItemIsEditable);
        m_table->setItem(row, Name, name);
        m_table->setItem(row, Bpw, cell(QString::number(r.bitsPerWeight, 'f', 2)));
        m_table->setItem(row, Size, cell(humanBytes(double(r.linearBytes))));
        m_table->setItem(row, Perplexity, cell(r.perplexity ? QString::number(r.perplexity->perplexity, 'f', 4) : QString(), bool(r.perplexity)));
        m_table->setItem(row, DeltaFp16, deltaCell(r, fp16));
        m_table->setItem(row, DeltaAsLoaded, deltaCell(r, asLoaded));
        m_table->setItem(row, Decode, cell(r.decodeMsPerToken ? compactNumber(*r.decodeMsPerToken) : QString(), bool(r.decodeMsPerToken)));
        m_table->setItem(row, Prefill, cell(r.prefillTokensPerSecond ? withThousands(std::uint64_t(std::llround(*r.prefillTokensPerSecond))) : QString(),
                                            bool(r.prefillTokensPerSecond)));
        if (r.benchPromptTokens > 0) {
            const QString tip = tr("%1 prompt + %2 generated tokens").arg(r.benchPromptTokens).arg(r.benchGenTokens);
            m_table->item(row, Decode)->setToolTip(tip);
            m_table->item(row, Prefill)->setToolTip(tip);
        }
        m_table->setItem(row, QuantizeTime, cell(r.isBaseline() ? QStringLiteral("—") : humanDuration(r.quantizeSeconds)));
        QStringList texts;
        if (r.hasCalibration()) texts << toQString(r.calibrationText);
        if (!r.evaluationText.empty()) texts << toQString(r.evaluationText);
        m_table->setItem(row, Texts, cell(texts.isEmpty() ? QStringLiteral("—") : texts.join(QStringLiteral(" → "))));
        m_table->item(row, Texts)->setToolTip(textsTooltip(r));
        for (int column = Bpw; column < RunColumnCount; ++column) {
            QTableWidgetItem* item = m_table->item(row, column);
            item->setFlags(item->flags() & ~Qt::ItemIsEditable);
        }
    }
}

std::pair<int, int> ResultsView::defaultComparison(const std::vector<RunPtr>& runs) {
    if (runs.empty()) return {0, 0};
    // B: the latest quantized run (the last run when there is none).
    RunPtr b = runs.back();
    for (auto it = runs.rbegin(); it != runs.rend(); ++it)
        if (!(*it)->isBaseline()) {
            b = *it;
            break;
        }
    // A: the baseline the Δ columns use (FP16, else as loaded); else the run before B.
    RunPtr a = perplexityReference(runs);
    if (!a || a == b) {
        a = nullptr;
        for (auto it = runs.rbegin(); it != runs.rend(); ++it)
            if (*it != b) {
                a = *it;
                break;
            }
    }
    return {a ? a->id : 0, b->id};
}

void ResultsView::renameRun(int id, const QString& text) {
    const auto run = m_workspace->findRun(id);
    if (!run) return;
    if (run->isBaseline()) {  // baselines are named by what they are
        refresh();
        return;
    }
    // The editor shows the title; the user may keep or drop the "run N · " prefix.
    QString name = text.trimmed();
    const QString prefix = QStringLiteral("run %1").arg(run->number);
    if (name.startsWith(prefix)) name = name.mid(prefix.size()).trimmed();
    if (name.startsWith(QStringLiteral("·"))) name = name.mid(1).trimmed();
    if (name == toQString(run->scheme)) name.clear();  // back to the scheme: no name
    if (toStdString(name) == run->customName) {
        refresh();  // nothing changed: show the title again
        return;
    }
    m_workspace->plan()->undoStack()->push(new RenameRunCommand(m_workspace, id, toStdString(name)));
}

void ResultsView::showRun(int id) {
    for (int row = 0; row < m_table->rowCount(); ++row)
        if (m_table->item(row, Name)->data(Qt::UserRole).toInt() == id) {
            m_table->selectRow(row);
            m_table->scrollToItem(m_table->item(row, Name));
            return;
        }
}

void ResultsView::compareRuns(int a, int b) {
    m_compareA->setCurrentIndex(m_compareA->findData(a));
    m_compareB->setCurrentIndex(m_compareB->findData(b));
    fillCompare();
}

void ResultsView::fillCompare() {
    const RunPtr a = m_workspace->findRun(m_compareA->currentData().toInt());
    const RunPtr b = m_workspace->findRun(m_compareB->currentData().toInt());
    struct Metric {
        QString name;
        std::function<std::optional<double>(const RunRecord&)> get;
        int decimals;
    };
    const std::vector<Metric> metrics = {
        {tr("perplexity"), [](const RunRecord& r) { return r.perplexity ? std::optional<double>(r.perplexity->perplexity) : std::nullopt; }, 4},
        {tr("KLD from FP16 (mean, nats)"), [](const RunRecord& r) { return r.kld ? std::optional<double>(r.kld->kldMean) : std::nullopt; }, 5},
        {tr("top-1 agreement with FP16 (%)"), [](const RunRecord& r) { return r.kld ? std::optional<double>(r.kld->top1AgreementPercent) : std::nullopt; }, 2},
        {tr("bits per weight"), [](const RunRecord& r) { return std::optional<double>(r.bitsPerWeight); }, 3},
        {tr("size (kB)"), [](const RunRecord& r) { return std::optional<double>(double(r.linearBytes) / 1000.0); }, 1},
        {tr("decode ms/token"), [](const RunRecord& r) { return r.decodeMsPerToken; }, 4},
        {tr("prefill tokens/s"), [](const RunRecord& r) { return r.prefillTokensPerSecond; }, 0},
        {tr("quantize time (s)"), [](const RunRecord& r) { return r.isBaseline() ? std::nullopt : std::optional<double>(r.quantizeSeconds); }, 2},
    };
    m_compareTable->setRowCount(int(metrics.size()));
    for (int i = 0; i < int(metrics.size()); ++i) {
        const auto va = a ? metrics[std::size_t(i)].get(*a) : std::nullopt;
        const auto vb = b ? metrics[std::size_t(i)].get(*b) : std::nullopt;
        const int d = metrics[std::size_t(i)].decimals;
        m_compareTable->setItem(i, 0, cell(metrics[std::size_t(i)].name));
        m_compareTable->setItem(i, 1, cell(va ? QString::number(*va, 'f', d) : QString(), bool(va)));
        m_compareTable->setItem(i, 2, cell(vb ? QString::number(*vb, 'f', d) : QString(), bool(vb)));
        m_compareTable->setItem(i, 3, cell(va && vb ? QString::number(*vb - *va, 'f', d) : QStringLiteral("—")));
    }
    fillModuleErrors(m_compareError, {a, b});
    showProtocolWarning(a, b);
}

void ResultsView::showProtocolWarning(const RunPtr& a, const RunPtr& b) {
    const auto differences = a && b && a != b ? protocolDifferences(*a, *b) : std::vector<std::string>{};
    QStringList lines;
    for (const auto& d : differences) lines << toQString(d);
    m_protocolWarning->setText(lines.isEmpty() ? QString()
                                               : tr("⚠ These figures were not measured the same way: %1").arg(lines.join(QStringLiteral("; "))));
    m_protocolWarning->setToolTip(lines.join(QLatin1Char('\n')));
    m_protocolWarning->setVisible(!lines.isEmpty());
}

}  // namespace qb::ui

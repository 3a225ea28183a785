#include "ui/views/plan_view.h"

#include <QStandardItemModel>

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QUndoStack>
#include <QUndoView>
#include <QVBoxLayout>

#include "ui/models/plan_table_model.h"
#include "ui/models/workspace.h"
#include "ui/util/qt_convert.h"
#include "ui/views/optimize_bar.h"
#include "ui/views/plan_delegates.h"
#include "ui/views/weight_bits_spin_box.h"

namespace qb::ui {

PlanView::PlanView(Workspace* workspace, QWidget* parent)
    : QWidget(parent), m_workspace(workspace), m_document(workspace->plan()), m_model(new PlanTableModel(workspace, this)),
      m_table(new QTableView(this)), m_totals(new QLabel(this)) {
    setObjectName(QStringLiteral("PlanView"));
    m_table->setObjectName(QStringLiteral("planTable"));
    m_table->setModel(m_model);
    m_table->setItemDelegateForColumn(PlanTableModel::Method, new MethodDelegate(m_table));
    auto* bits = new BitsDelegate(m_table);
    m_table->setItemDelegateForColumn(PlanTableModel::Bits, bits);
    connect(bits, &BitsDelegate::refused, this, &PlanView::statusReported);
    m_table->setItemDelegateForColumn(PlanTableModel::GroupSize, new GroupSizeDelegate(m_table));
    m_table->setItemDelegateForColumn(PlanTableModel::ActBits, new ActBitsDelegate(m_table));
    m_table->setItemDelegateForColumn(PlanTableModel::Epochs, new EpochsDelegate(m_table));
    m_table->setItemDelegateForColumn(PlanTableModel::LrLwc, new LearningRateDelegate(m_table));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::SelectedClicked | QAbstractItemView::EditKeyPressed);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setSectionResizeMode(PlanTableModel::Module, QHeaderView::Stretch);
    for (int c = PlanTableModel::Shape; c < PlanTableModel::ColumnCount; ++c)
        m_table->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    QFont bold = m_totals->font();
    bold.setBold(true);
    m_totals->setFont(bold);
    m_totals->setObjectName(QStringLiteral("planTotals"));

    auto* history = new QUndoView(m_document->undoStack(), this);
    history->setEmptyLabel(tr("<opened plan>"));
    history->setToolTip(tr("Edit history: click an entry to go back to it"));
    auto* historyBox = new QWidget(this);
    auto* historyLayout = new QVBoxLayout(historyBox);
    historyLayout->setContentsMargins(0, 0, 0, 0);
    historyLayout->addWidget(new QLabel(tr("<b>History</b>"), historyBox));
    historyLayout->addWidget(history);
    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(m_table);
    splitter->addWidget(historyBox);
    splitter->setStretchFactor(0, 5);
    splitter->setStretchFactor(1, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(buildToolbar());
    layout->addWidget(buildBulkBar());
    m_optimizeBar = new OptimizeBar(m_document, this);
    layout->addWidget(m_optimizeBar);
    layout->addWidget(splitter, 1);
    layout->addWidget(m_totals);

    connect(m_document, &PlanDocument::totalsChanged, this, &PlanView::updateTotals);
    connect(m_document, &PlanDocument::totalsChanged, this, &PlanView::updatePresetState);
    connect(m_workspace, &Workspace::statsChanged, this, [this] { m_protect->setEnabled(m_workspace->stats() != nullptr); });
    connect(m_workspace, &Workspace::currentModuleChanged, this, [this](const QString& name) {
        const int row = m_document->indexOf(toStdString(name));
        if (row >= 0 && !selectedRows().contains(row)) {
            m_table->selectRow(row);
            m_table->scrollTo(m_model->index(row, 0));
        }
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
        if (current.isValid()) m_workspace->setCurrentModule(toQString(m_document->row(current.row()).name));
    });
    m_protect->setEnabled(false);
    updateTotals();
    updatePresetState();
}

QWidget* PlanView::buildToolbar() {
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_preset = new QComboBox(bar);
    m_preset->setObjectName(QStringLiteral("presetCombo"));
    for (const auto p : allPresets()) m_preset->addItem(presetName(p), int(p));
    m_preset->addItem(tr("custom"), -1);  // shown, never chosen: the rows match no preset
    qobject_cast<QStandardItemModel*>(m_preset->model())->item(m_preset->count() - 1)->setEnabled(false);
    m_preset->setToolTip(tr("The preset every module follows, or “custom”. Choosing a preset gives every module its scheme (one undo step)."));
    m_protectCount = new QSpinBox(bar);
    m_protectCount->setRange(1, 1000);
    m_protectCount->setValue(3);
    m_protectCount->setToolTip(tr("How many modules to protect"));
    m_protect = new QPushButton(tr("Protect sensitive layers"), bar);
    m_protect->setToolTip(tr("Keep the N modules with the largest RTN 4-bit error (from Inspect) at 8 bits"));
    auto* load = new QPushButton(tr("Load plan…"), bar);
    auto* save = new QPushButton(tr("Save plan…"), bar);
    load->setToolTip(tr("Read a plan JSON file (the format of quantbench-cli quantize --plan)"));
    save->setToolTip(tr("Write this table as a plan JSON file: the most common scheme as default plus one rule per other module"));
    row->addWidget(new QLabel(tr("Preset:"), bar));
    row->addWidget(m_preset);
    row->addSpacing(16);
    row->addWidget(m_protectCount);
    row->addWidget(m_protect);
    row->addStretch(1);
    row->addWidget(load);
    row->addWidget(save);
    connect(m_preset, &QComboBox::activated, this, [this] {
        const int preset = m_preset->currentData().toInt();
        if (preset >= 0) applyPreset(PlanPreset(preset));
        updatePresetState();  // a preset the rows already follow changes nothing
    });
    connect(m_protect, &QPushButton::clicked, this, [this] { protectSensitive(m_protectCount->value()); });
    connect(load, &QPushButton::clicked, this, &PlanView::loadPlanInteractive);
    connect(save, &QPushButton::clicked, this, &PlanView::savePlanInteractive);
    return bar;
}

QWidget* PlanView::buildBulkBar() {
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_bulkMethod = new QComboBox(bar);
    m_bulkMethod->setObjectName(QStringLiteral("bulkMethod"));
    fillMethodCombo(m_bulkMethod);
    m_bulkBits = new WeightBitsSpinBox(bar);
    m_bulkBits->setObjectName(QStringLiteral("bulkBits"));
    m_bulkBits->setValue(4);
    connect(static_cast<WeightBitsSpinBox*>(m_bulkBits), &WeightBitsSpinBox::widthRefused, this,
            [this](int bits) { emit statusReported(WeightBitsSpinBox::refusalMessage(bits)); });
    m_bulkGroup = new QComboBox(bar);
    m_bulkGroup->setObjectName(QStringLiteral("bulkGroup"));
    fillGroupSizeCombo(m_bulkGroup);
    m_bulkSym = new QCheckBox(tr("sym"), bar);
    m_bulkActOrder = new QCheckBox(tr("act-order"), bar);
    row->addWidget(new QLabel(tr("Set selected:"), bar));
    const auto addSet = [this, bar, row](QWidget* editor, PlanField field, auto value, const QString& name) {
        auto* button = new QPushButton(tr("Set"), bar);
        button->setObjectName(name);
        button->setToolTip(tr("Apply to every selected row where it applies (one undo step)"));
        row->addWidget(editor);
        row->addWidget(button);
        row->addSpacing(8);
        connect(button, &QPushButton::clicked, this, [this, field, value] { setSelected(field, value()); });
    };
    addSet(m_bulkMethod, PlanField::Method, [this] { return m_bulkMethod->currentData(); }, QStringLiteral("bulkMethodSet"));
    addSet(m_bulkBits, PlanField::Bits, [this] { return QVariant(m_bulkBits->value()); }, QStringLiteral("bulkBitsSet"));
    addSet(m_bulkGroup, PlanField::GroupSize, [this] { return m_bulkGroup->currentData(); }, QStringLiteral("bulkGroupSet"));
    addSet(m_bulkSym, PlanField::Sym, [this] { return QVariant(m_bulkSym->isChecked()); }, QStringLiteral("bulkSymSet"));
    addSet(m_bulkActOrder, PlanField::ActOrder, [this] { return QVariant(m_bulkActOrder->isChecked()); },
           QStringLiteral("bulkActOrderSet"));
    row->addStretch(1);
    return bar;
}

QList<int> PlanView::selectedRows() const {
    QList<int> rows;
    for (const QModelIndex& index : m_table->selectionModel()->selectedRows()) rows.append(index.row());
    std::sort(rows.begin(), rows.end());
    return rows;
}

int PlanView::setSelected(PlanField field, const QVariant& value) { return m_document->setFieldForRows(selectedRows(), field, value); }

void PlanView::applyPreset(PlanPreset preset) {
    m_document->replaceSchemes(std::vector<core::QuantScheme>(std::size_t(m_document->rowCount()), presetScheme(preset)),
                               tr("Preset: %1").arg(presetName(preset)));
}

int PlanView::protectSensitive(int n) {
    const auto& stats = m_workspace->stats();
    if (!stats) return 0;
    const auto names = mostSensitiveModules(*stats, n);
    m_document->replaceSchemes(protectModules(m_document->rows(), names), tr("Protect %n sensitive module(s)", nullptr, int(names.size())));
    return int(names.size());
}

void PlanView::loadPlanInteractive() {
    const QString file = QFileDialog::getOpenFileName(this, tr("Load plan"), {}, tr("Plan JSON (*.json);;All files (*)"));
    if (file.isEmpty()) return;
    try {
        m_document->loadFile(toPath(file));
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Could not load the plan"), QStringLiteral("error: ") + QString::fromUtf8(e.what()));
    }
}

void PlanView::savePlanInteractive() {
    QString file = QFileDialog::getSaveFileName(this, tr("Save plan"), QStringLiteral("plan.json"), tr("Plan JSON (*.json)"));
    if (file.isEmpty()) return;
    if (!file.endsWith(QLatin1String(".json"))) file += QStringLiteral(".json");
    try {
        m_document->saveFile(toPath(file));
    } catch (const std::exception& e) {
        emit errorOccurred(tr("Could not save the plan"), QStringLiteral("error: ") + QString::fromUtf8(e.what()));
    }
}

void PlanView::updatePresetState() {
    int shown = m_preset->findData(-1);
    const auto& rows = m_document->rows();
    for (const auto p : allPresets()) {
        const auto scheme = presetScheme(p);
        const bool all = !rows.empty() && std::all_of(rows.begin(), rows.end(), [&](const PlanRow& r) { return sameScheme(r.scheme, scheme); });
        if (all) shown = m_preset->findData(int(p));
    }
    const QSignalBlocker block(m_preset);
    m_preset->setCurrentIndex(shown);
}

void PlanView::updateTotals() {
    const auto weights = m_document->weights();
    if (weights == 0) {
        m_totals->setText(tr("No model open."));
        return;
    }
    const auto bytes = m_document->bytes();
    const double reference = double(weights) * 4.0;  // float32
    const auto plan = m_document->toPlan();
    m_totals->setText(tr("%1 modules · %2 bits per weight · %3 (float32: %4, %5× smaller) · default %6, %7 module(s) differ")
                          .arg(m_document->rowCount())
                          .arg(m_document->bitsPerWeight(), 0, 'f', 2)
                          .arg(humanBytes(double(bytes)), humanBytes(reference))
                          .arg(reference / double(std::max<std::uint64_t>(bytes, 1)), 0, 'f', 1)
                          .arg(toQString(plan.defaultScheme.label()))
                          .arg(plan.rules.size()));
}

}  // namespace qb::ui

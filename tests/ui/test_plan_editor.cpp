// The plan editor: edits through the delegates and through "Set selected", undo/redo, merged
// edits, presets, live totals, and the plan JSON round trip through core::QuantPlan.

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableView>
#include <QTest>
#include <QUndoStack>

#include <fstream>

#include "core/quant/scheme_size.h"
#include "support/test_support.h"
#include "ui/main_window.h"
#include "ui/models/plan_document.h"
#include "ui/models/plan_table_model.h"
#include "ui/models/workspace.h"
#include "ui/ui_test_support.h"
#include "ui/views/plan_view.h"
#include "ui/views/weight_bits_spin_box.h"
#include "ui/workbench_controller.h"

using namespace qb;

namespace {
/// Closes an open delegate editor the way a user's Escape does, and deletes it now.
void closeEditor(QWidget* editor) {
    QTest::keyClick(editor, Qt::Key_Escape);
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}
}  // namespace
using ui::PlanField;
using ui::PlanTableModel;

class TestPlanEditor : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("quantbench-test"));
        m_controller = std::make_unique<ui::WorkbenchController>();
        m_window = std::make_unique<ui::MainWindow>(m_controller.get());
        m_window->show();
        QCOMPARE(test::waitForJob(m_controller->openDemoModel()), ui::JobState::Succeeded);
        m_view = m_window->planView();
        m_doc = m_controller->workspace()->plan();
    }

    void init() {
        m_doc->resetModules(m_controller->workspace()->model()->modules);
        m_view->table()->clearSelection();
    }

    void cleanupTestCase() {
        m_window.reset();
        m_controller.reset();
    }

    void startsAtRtnW4G128WithLiveTotals() {
        QCOMPARE(m_doc->rowCount(), 35);
        QCOMPARE(m_view->tableModel()->index(0, PlanTableModel::Method).data().toString(), QStringLiteral("rtn"));
        QCOMPARE(m_view->tableModel()->index(0, PlanTableModel::GroupSize).data().toString(), QStringLiteral("128"));
        // q_proj [64, 64], w4 g128: qweight 2·4·64·4 + qzeros 1·2·4·4 + scales 1·64·2 + g_idx 64·4 = 2048+32+128+256
        QCOMPARE(core::schemeBytes(m_doc->row(0).scheme, 64, 64), std::uint64_t(2464));
        QVERIFY(m_doc->bitsPerWeight() > 4.0 && m_doc->bitsPerWeight() < 6.0);
        QVERIFY(m_view->totalsLabel()->text().contains(QString::number(m_doc->bitsPerWeight(), 'f', 2)));
    }

    void editsThroughTheDelegatesAndUndoes() {
        QTableView* table = m_view->table();
        auto* model = table->model();
        auto* undo = m_doc->undoStack();
        const double bpwBefore = m_doc->bitsPerWeight();
        const QString totalsBefore = m_view->totalsLabel()->text();

        // Bits of row 3 through the spin-box delegate.
        const QModelIndex bits = model->index(3, PlanTableModel::Bits);
        table->setCurrentIndex(bits);
        table->edit(bits);
        auto* spin = table->viewport()->findChild<QSpinBox*>();
        QVERIFY(spin);
        spin->setValue(3);
        table->itemDelegateForColumn(PlanTableModel::Bits)->setModelData(spin, model, bits);
        QCOMPARE(m_doc->row(3).scheme.grid.bits, 3);
        QVERIFY(m_doc->bitsPerWeight() < bpwBefore);
        QVERIFY(m_view->totalsLabel()->text() != totalsBefore);
        QCOMPARE(undo->count(), 1);
        closeEditor(spin);

        // Method of row 5 through the combo delegate.
        const QModelIndex method = model->index(5, PlanTableModel::Method);
        table->setCurrentIndex(method);
        table->edit(method);
        auto* combo = table->viewport()->findChild<QComboBox*>();
        QVERIFY(combo);
        combo->setCurrentIndex(combo->findData(QStringLiteral("gptq")));
        table->itemDelegateForColumn(PlanTableModel::Method)->setModelData(combo, model, method);
        QCOMPARE(m_doc->row(5).scheme.method, core::QuantMethod::Gptq);
        closeEditor(combo);
        QVERIFY(model->flags(model->index(5, PlanTableModel::ActOrder)) & Qt::ItemIsUserCheckable);
        QVERIFY(!(model->flags(model->index(4, PlanTableModel::ActOrder)) & Qt::ItemIsUserCheckable));  // rtn: no act-order

        // Group size through its combo, act-order through the check box.
        const QModelIndex group = model->index(5, PlanTableModel::GroupSize);
        table->setCurrentIndex(group);
        table->edit(group);
        auto* groups = table->viewport()->findChild<QComboBox*>();
        QVERIFY(groups);
        groups->setCurrentIndex(groups->findData(-1));
        table->itemDelegateForColumn(PlanTableModel::GroupSize)->setModelData(groups, model, group);
        QVERIFY(!m_doc->row(5).scheme.grid.groupSize);
        closeEditor(groups);
        QVERIFY(model->setData(model->index(5, PlanTableModel::ActOrder), Qt::Checked, Qt::CheckStateRole));
        QVERIFY(m_doc->row(5).scheme.gptq.actOrder);
        QCOMPARE(undo->count(), 4);

        // Undo everything, redo one step.
        m_window->action(QStringLiteral("actionUndo"))->trigger();
        QVERIFY(!m_doc->row(5).scheme.gptq.actOrder);
        while (undo->canUndo()) undo->undo();
        QCOMPARE(m_doc->row(3).scheme.grid.bits, 4);
        QCOMPARE(m_doc->row(5).scheme.method, core::QuantMethod::Rtn);
        QCOMPARE(m_doc->bitsPerWeight(), bpwBefore);
        QCOMPARE(m_view->totalsLabel()->text(), totalsBefore);
        m_window->action(QStringLiteral("actionRedo"))->trigger();
        QCOMPARE(m_doc->row(3).scheme.grid.bits, 3);
    }

    void repeatedEditsOfOneCellMergeIntoOneUndoStep() {
        for (const int bits : {8, 2, 3}) QVERIFY(m_doc->setField(0, PlanField::Bits, bits));
        QCOMPARE(m_doc->undoStack()->count(), 1);
        m_doc->undoStack()->undo();
        QCOMPARE(m_doc->row(0).scheme.grid.bits, 4);
        QVERIFY(!m_doc->setField(0, PlanField::Bits, 9));  // out of range: refused, no command
        QVERIFY(!m_doc->setField(0, PlanField::Bits, 1));  // packed widths are 2..8
        QCOMPARE(m_doc->undoStack()->index(), 0);
    }

    void subEightBitActivationsAreShownSimulated() {
        m_doc->applyPlan(core::QuantPlan::fromJsonText(R"({"default": {"method": "w8a8", "act_bits": 6},
            "rules": [{"match": "model.layers.0.*", "act_bits": 8}]})", "plan"), QStringLiteral("plan"));
        const QAbstractItemModel* model = m_view->tableModel();
        int simulated = 0, plain = 0;
        for (int r = 0; r < m_doc->rowCount(); ++r) {
            const QString bits = model->index(r, PlanTableModel::Bits).data().toString();
            const QString act = model->index(r, PlanTableModel::ActBits).data().toString();
            const QString tip = model->index(r, PlanTableModel::Method).data(Qt::ToolTipRole).toString();
            if (bits == QStringLiteral("8") && act == QStringLiteral("6 (simulated)") && tip == QStringLiteral("w8a6 (simulated)")) ++simulated;
            if (bits == QStringLiteral("8") && act == QStringLiteral("8") && tip == QStringLiteral("w8a8")) ++plain;
        }
        QCOMPARE(plain, 7);  // the 7 linears of layer 0 keep 8-bit activations
        QCOMPARE(simulated, m_doc->rowCount() - 7);
        m_doc->undoStack()->undo();
    }

    void omniQuantWithActivationBitsIsShownSimulated() {
        m_doc->applyPlan(core::QuantPlan::fromJsonText(R"({"default": {"method": "omniquant", "bits": 4, "act_bits": 4}})", "plan"),
                         QStringLiteral("plan"));
        const QAbstractItemModel* model = m_view->tableModel();
        QCOMPARE(model->index(0, PlanTableModel::Bits).data().toString(), QStringLiteral("4"));
        QCOMPARE(model->index(0, PlanTableModel::ActBits).data().toString(), QStringLiteral("4 (simulated)"));
        QVERIFY(model->index(0, PlanTableModel::Method).data(Qt::ToolTipRole).toString().contains(QStringLiteral("a4 (simulated) let")));
        m_doc->undoStack()->undo();
    }

    // act_bits (issue 15) is a cell: a grid row becomes weight-activation (W4A4) and weight-only
    // again ("none") through its combo box, as the plan file's one key sets it; w8a8 rows are
    // offered 4–8 only; the edits are undoable and the saved plan carries them.
    void activationBitsAreEditedInTheTable() {
        QTableView* table = m_view->table();
        auto* model = table->model();
        auto* undo = m_doc->undoStack();
        QCOMPARE(model->index(1, PlanTableModel::ActBits).data().toString(), QStringLiteral("none"));  // rtn w4 g128

        const QModelIndex act = model->index(1, PlanTableModel::ActBits);
        table->setCurrentIndex(act);
        table->edit(act);
        auto* combo = table->viewport()->findChild<QComboBox*>();
        QVERIFY(combo);
        QCOMPARE(combo->count(), 6);  // none, 4 … 8
        QCOMPARE(combo->itemData(0).toInt(), 0);
        combo->setCurrentIndex(combo->findData(4));
        table->itemDelegateForColumn(PlanTableModel::ActBits)->setModelData(combo, model, act);
        closeEditor(combo);
        QCOMPARE(m_doc->row(1).scheme.gridActBits, std::optional<int>(4));
        QCOMPARE(model->index(1, PlanTableModel::ActBits).data().toString(), QStringLiteral("4 (simulated)"));
        QVERIFY(model->index(1, PlanTableModel::Method).data(Qt::ToolTipRole).toString().contains(QStringLiteral("a4 (simulated)")));
        QCOMPARE(m_doc->toPlan().resolve(m_doc->row(1).name).gridActBits, std::optional<int>(4));
        QVERIFY(m_doc->setField(1, PlanField::ActBits, 0));  // weight-only again
        QVERIFY(!m_doc->row(1).scheme.gridActBits);
        QCOMPARE(undo->count(), 1);  // edits of one cell merge into one step

        QVERIFY(m_doc->setField(2, PlanField::Method, QStringLiteral("w8a8")));
        QCOMPARE(model->index(2, PlanTableModel::ActBits).data().toString(), QStringLiteral("8"));
        const QModelIndex w8 = model->index(2, PlanTableModel::ActBits);
        table->setCurrentIndex(w8);
        table->edit(w8);
        auto* w8combo = table->viewport()->findChild<QComboBox*>();
        QVERIFY(w8combo);
        QCOMPARE(w8combo->count(), 5);  // no weight-only w8a8
        QCOMPARE(w8combo->currentData().toInt(), 8);
        closeEditor(w8combo);
        QVERIFY(!m_doc->setField(2, PlanField::ActBits, 0));
        QVERIFY(!m_doc->setField(2, PlanField::ActBits, 3));
        QVERIFY(m_doc->setField(2, PlanField::ActBits, 6));
        QCOMPARE(m_doc->row(2).scheme.smooth.actBits, 6);
        QCOMPARE(model->index(2, PlanTableModel::ActBits).data().toString(), QStringLiteral("6 (simulated)"));
        QVERIFY(!(model->flags(model->index(2, PlanTableModel::Epochs)) & Qt::ItemIsEditable));
        while (undo->canUndo()) undo->undo();
        QVERIFY(!m_doc->row(1).scheme.gridActBits);
        QCOMPARE(m_doc->row(2).scheme.method, core::QuantMethod::Rtn);
    }

    // OmniQuant's epochs and LWC learning rate (issue 15) are cells of its rows: edited through
    // their editors, one undo step each, refused outside the plan file's bounds, and saved in
    // the plan the CLI reads; other methods show "—" and cannot be edited there.
    void omniQuantEpochsAndLearningRateAreEditedInTheTable() {
        QTableView* table = m_view->table();
        auto* model = table->model();
        auto* undo = m_doc->undoStack();
        QVERIFY(!(model->flags(model->index(2, PlanTableModel::Epochs)) & Qt::ItemIsEditable));  // rtn
        QCOMPARE(model->index(2, PlanTableModel::Epochs).data().toString(), QStringLiteral("—"));
        QVERIFY(m_doc->setField(2, PlanField::Method, QStringLiteral("omniquant")));
        QCOMPARE(model->index(2, PlanTableModel::Epochs).data().toInt(), 20);  // the defaults
        QCOMPARE(model->index(2, PlanTableModel::LrLwc).data().toString(), QStringLiteral("0.005"));
        const int steps = undo->count();

        const QModelIndex epochs = model->index(2, PlanTableModel::Epochs);
        table->setCurrentIndex(epochs);
        table->edit(epochs);
        auto* spin = table->viewport()->findChild<QSpinBox*>();
        QVERIFY(spin);
        QCOMPARE(spin->maximum(), core::kMaxOmniQuantEpochs);
        spin->setValue(7);
        table->itemDelegateForColumn(PlanTableModel::Epochs)->setModelData(spin, model, epochs);
        QCOMPARE(m_doc->row(2).scheme.omniquant.epochs, 7);
        closeEditor(spin);

        const QModelIndex lr = model->index(2, PlanTableModel::LrLwc);
        table->setCurrentIndex(lr);
        table->edit(lr);
        auto* line = table->viewport()->findChild<QLineEdit*>();
        QVERIFY(line);
        QCOMPARE(line->text(), QStringLiteral("0.005"));
        line->setText(QStringLiteral("1e-2"));
        table->itemDelegateForColumn(PlanTableModel::LrLwc)->setModelData(line, model, lr);
        QCOMPARE(m_doc->row(2).scheme.omniquant.lrLwc, 1e-2);
        closeEditor(line);
        QCOMPARE(undo->count(), steps + 2);

        QVERIFY(!m_doc->setField(2, PlanField::Epochs, core::kMaxOmniQuantEpochs + 1));
        QVERIFY(!m_doc->setField(2, PlanField::LrLwc, 0.0));
        QVERIFY(!m_doc->setField(2, PlanField::LrLwc, -1e-3));
        QCOMPARE(undo->count(), steps + 2);
        const core::QuantScheme saved = m_doc->toPlan().resolve(m_doc->row(2).name);
        QCOMPARE(saved.omniquant.epochs, 7);
        QCOMPARE(saved.omniquant.lrLwc, 1e-2);

        undo->undo();
        QCOMPARE(m_doc->row(2).scheme.omniquant.lrLwc, 5e-3);
        undo->undo();
        QCOMPARE(m_doc->row(2).scheme.omniquant.epochs, 20);
        undo->undo();
        QCOMPARE(m_doc->row(2).scheme.method, core::QuantMethod::Rtn);
    }

    // Rows whose activation widths differ from the default's (a w8a8 row under a weight-only
    // default, a weight-only row under a W4A4 default) save to a plan that resolves to every
    // row's own scheme.
    void mixedActivationWidthsSaveAsTheyAre() {
        for (const char* text : {R"({"default": {"method": "rtn", "bits": 4}, "rules": [{"match": "*.q_proj", "method": "w8a8", "act_bits": 6}]})",
                                 R"({"default": {"method": "omniquant", "bits": 4, "act_bits": 4}, "rules": [{"match": "*.down_proj", "act_bits": null}]})"}) {
            m_doc->applyPlan(core::QuantPlan::fromJsonText(text, "plan"), QStringLiteral("plan"));
            const core::QuantPlan saved = core::QuantPlan::fromJsonText(m_doc->toPlan().toJsonText(), "saved");
            for (const auto& row : m_doc->rows()) QVERIFY2(ui::sameScheme(saved.resolve(row.name), row.scheme), row.name.c_str());
        }
        QCOMPARE(m_doc->row(6).scheme.gridActBits, std::nullopt);  // layer 0's down_proj: weight-only under W4A4
        QCOMPARE(m_doc->row(0).scheme.gridActBits, std::optional<int>(4));
    }

    void bitsEditorOffersEveryWidthFromTwoToEight() {
        qb::ui::WeightBitsSpinBox spin;
        QCOMPARE(spin.minimum(), 2);
        QCOMPARE(spin.maximum(), 8);
        spin.setValue(4);
        spin.stepBy(1);
        QCOMPARE(spin.value(), 5);  // 5, 6 and 7 bits pack as bit streams like the others
        spin.stepBy(3);
        QCOMPARE(spin.value(), 8);
        spin.stepBy(-9);
        QCOMPARE(spin.value(), 2);
        QString typed = QStringLiteral("6 bits");
        int pos = 1;
        QCOMPARE(spin.validate(typed, pos), QValidator::Acceptable);
        QVERIFY(m_doc->setField(0, PlanField::Bits, 6));
        QCOMPARE(m_doc->row(0).scheme.grid.bits, 6);
    }

    void bulkSetOnTheSelectionIsOneUndoStep() {
        QTableView* table = m_view->table();
        for (const int row : {0, 1, 2, 7, 8}) table->selectionModel()->select(table->model()->index(row, 0),
                                                                               QItemSelectionModel::Select | QItemSelectionModel::Rows);
        m_view->findChild<QSpinBox*>(QStringLiteral("bulkBits"))->setValue(8);
        QTest::mouseClick(m_view->findChild<QPushButton*>(QStringLiteral("bulkBitsSet")), Qt::LeftButton);
        for (const int row : {0, 1, 2, 7, 8}) QCOMPARE(m_doc->row(row).scheme.grid.bits, 8);
        QCOMPARE(m_doc->row(3).scheme.grid.bits, 4);
        QCOMPARE(m_doc->undoStack()->count(), 1);

        auto* method = m_view->findChild<QComboBox*>(QStringLiteral("bulkMethod"));
        method->setCurrentIndex(method->findData(QStringLiteral("awq")));
        QTest::mouseClick(m_view->findChild<QPushButton*>(QStringLiteral("bulkMethodSet")), Qt::LeftButton);
        for (const int row : {0, 1, 2, 7, 8}) QCOMPARE(m_doc->row(row).scheme.method, core::QuantMethod::Awq);
        QCOMPARE(m_view->setSelected(PlanField::ActOrder, true), 0);  // act-order applies to no AWQ row
        QCOMPARE(m_doc->undoStack()->count(), 2);

        m_doc->undoStack()->undo();
        m_doc->undoStack()->undo();
        for (const int row : {0, 1, 2, 7, 8}) {
            QCOMPARE(m_doc->row(row).scheme.grid.bits, 4);
            QCOMPARE(m_doc->row(row).scheme.method, core::QuantMethod::Rtn);
        }
    }

    void presetsReplaceEveryRow() {
        m_view->applyPreset(ui::PlanPreset::W4G32Awq);
        for (const auto& row : m_doc->rows()) {
            QCOMPARE(row.scheme.method, core::QuantMethod::Awq);
            QCOMPARE(*row.scheme.grid.groupSize, 32);
        }
        m_view->applyPreset(ui::PlanPreset::W8A8SmoothQuant);
        QCOMPARE(m_doc->row(0).scheme.method, core::QuantMethod::SmoothQuant);
        QCOMPARE(m_view->tableModel()->index(0, PlanTableModel::GroupSize).data().toString(), QStringLiteral("—"));
        QVERIFY(std::abs(m_doc->bitsPerWeight() - 8.0) < 0.5);
        QCOMPARE(m_doc->undoStack()->count(), 2);
        m_doc->undoStack()->undo();
        QCOMPARE(m_doc->row(0).scheme.method, core::QuantMethod::Awq);
    }

    void savesAndLoadsTheCliPlanJson() {
        m_view->applyPreset(ui::PlanPreset::W4G128Gptq);
        QVERIFY(m_doc->setField(6, PlanField::Bits, 8));
        QVERIFY(m_doc->setField(13, PlanField::Method, QStringLiteral("fp16")));
        QVERIFY(m_doc->setField(20, PlanField::GroupSize, 32));
        const auto file = test::freshScratchDir("ui_plan") / "plan.json";
        m_doc->saveFile(file);
        const auto plan = core::QuantPlan::fromFile(file);  // what the CLI reads
        QCOMPARE(plan.defaultScheme.method, core::QuantMethod::Gptq);
        QCOMPARE(int(plan.rules.size()), 3);
        for (const auto& row : m_doc->rows()) QVERIFY2(ui::sameScheme(plan.resolve(row.name), row.scheme), row.name.c_str());

        m_doc->resetModules(m_controller->workspace()->model()->modules);
        m_doc->loadFile(file);
        QCOMPARE(m_doc->row(6).scheme.grid.bits, 8);
        QCOMPARE(m_doc->row(13).scheme.method, core::QuantMethod::Fp16);
        QCOMPARE(*m_doc->row(20).scheme.grid.groupSize, 32);
        QCOMPARE(m_doc->row(0).scheme.method, core::QuantMethod::Gptq);
        QCOMPARE(m_doc->undoStack()->count(), 1);  // loading is one undo step

        std::ofstream(file) << R"({"default": {"method": "gptq", "bits": 9}})";
        QVERIFY_THROWS_EXCEPTION(core::Error, m_doc->loadFile(file));
        QCOMPARE(m_doc->row(6).scheme.grid.bits, 8);  // untouched by the failed load
    }

private:
    std::unique_ptr<ui::WorkbenchController> m_controller;
    std::unique_ptr<ui::MainWindow> m_window;
    ui::PlanView* m_view = nullptr;
    ui::PlanDocument* m_doc = nullptr;
};

QTEST_MAIN(TestPlanEditor)
#include "test_plan_editor.moc"

#include "ui/views/plan_delegates.h"

#include <QComboBox>
#include <QDoubleValidator>
#include <QLineEdit>
#include <QSpinBox>

#include "core/quant/method_registry.h"
#include "ui/models/plan_table_model.h"
#include "ui/util/qt_convert.h"
#include "ui/views/weight_bits_spin_box.h"

namespace qb::ui {

void fillMethodCombo(QComboBox* combo) {
    // Core's method registry is the one list of methods (the CLI's help reads it too).
    for (const auto& e : core::methodRegistry()) {
        const QString name = toQString(e.name);
        combo->addItem(name, name);
        combo->setItemData(combo->count() - 1, toQString(e.title + ": " + e.help), Qt::ToolTipRole);
    }
}

void fillGroupSizeCombo(QComboBox* combo) {
    for (const int g : {32, 64, 128, 256, -1}) combo->addItem(groupSizeText(g), g);
}

QWidget* MethodDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
    auto* combo = new QComboBox(parent);
    fillMethodCombo(combo);
    connect(combo, &QComboBox::activated, this, [this, combo] { emit const_cast<MethodDelegate*>(this)->commitData(combo); });
    return combo;
}

void MethodDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    auto* combo = static_cast<QComboBox*>(editor);
    combo->setCurrentIndex(std::max(0, combo->findData(index.data(Qt::EditRole).toString())));
}

void MethodDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    model->setData(index, static_cast<QComboBox*>(editor)->currentData(), Qt::EditRole);
}

QWidget* BitsDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
    auto* spin = new WeightBitsSpinBox(parent);
    connect(spin, &WeightBitsSpinBox::widthRefused, this,
            [this](int bits) { emit const_cast<BitsDelegate*>(this)->refused(WeightBitsSpinBox::refusalMessage(bits)); });
    return spin;
}

void BitsDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    static_cast<QSpinBox*>(editor)->setValue(index.data(Qt::EditRole).toInt());
}

void BitsDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    auto* spin = static_cast<QSpinBox*>(editor);
    spin->interpretText();
    model->setData(index, spin->value(), Qt::EditRole);
}

QWidget* GroupSizeDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
    auto* combo = new QComboBox(parent);
    fillGroupSizeCombo(combo);
    connect(combo, &QComboBox::activated, this, [this, combo] { emit const_cast<GroupSizeDelegate*>(this)->commitData(combo); });
    return combo;
}

void GroupSizeDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    auto* combo = static_cast<QComboBox*>(editor);
    const int g = index.data(Qt::EditRole).toInt();
    int i = combo->findData(g);
    if (i < 0) {
        combo->addItem(groupSizeText(g), g);
        i = combo->count() - 1;
    }
    combo->setCurrentIndex(i);
}

void GroupSizeDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    model->setData(index, static_cast<QComboBox*>(editor)->currentData(), Qt::EditRole);
}

QWidget* ActBitsDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex& index) const {
    auto* combo = new QComboBox(parent);
    // A row whose value is 0 or whose method has a weight grid may be weight-only; w8a8 and
    // smoothquant always quantize their activations.
    if (index.data(PlanTableModel::WeightOnlyAllowedRole).toBool()) combo->addItem(tr("none"), 0);
    for (int bits = core::kMinActBits; bits <= core::kMaxActBits; ++bits)
        combo->addItem(core::isSimulatedActBits(bits) ? tr("%1 (simulated)").arg(bits) : QString::number(bits), bits);
    connect(combo, &QComboBox::activated, this, [this, combo] { emit const_cast<ActBitsDelegate*>(this)->commitData(combo); });
    return combo;
}

void ActBitsDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    auto* combo = static_cast<QComboBox*>(editor);
    combo->setCurrentIndex(std::max(0, combo->findData(index.data(Qt::EditRole).toInt())));
}

void ActBitsDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    model->setData(index, static_cast<QComboBox*>(editor)->currentData(), Qt::EditRole);
}

QWidget* EpochsDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
    auto* spin = new QSpinBox(parent);
    spin->setRange(0, core::kMaxOmniQuantEpochs);
    return spin;
}

void EpochsDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    static_cast<QSpinBox*>(editor)->setValue(index.data(Qt::EditRole).toInt());
}

void EpochsDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    auto* spin = static_cast<QSpinBox*>(editor);
    spin->interpretText();
    model->setData(index, spin->value(), Qt::EditRole);
}

QWidget* LearningRateDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
    auto* edit = new QLineEdit(parent);
    auto* validator = new QDoubleValidator(edit);
    validator->setBottom(0.0);
    validator->setNotation(QDoubleValidator::ScientificNotation);
    validator->setLocale(QLocale::c());  // "5e-3" whatever the desktop's decimal separator
    edit->setValidator(validator);
    return edit;
}

void LearningRateDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
    static_cast<QLineEdit*>(editor)->setText(QString::number(index.data(Qt::EditRole).toDouble(), 'g', 6));
}

void LearningRateDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
    bool ok = false;
    const double lr = QLocale::c().toDouble(static_cast<QLineEdit*>(editor)->text(), &ok);
    if (ok) model->setData(index, lr, Qt::EditRole);  // the document refuses lr <= 0
}

}  // namespace qb::ui

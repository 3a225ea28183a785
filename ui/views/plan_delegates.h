#pragma once
// Editors of the Plan table: a combo box of quantization methods (with a line of help each), a
// spin box for bits (2–8) and a combo box of group sizes (32, 64, 128, 256, per row). Sym and
// act-order are check boxes (Qt::CheckStateRole), no delegate needed. OmniQuant's epochs take a
// spin box and its learning rate a line edit that accepts positive numbers only.

#include <QStyledItemDelegate>

class QComboBox;

namespace qb::ui {

class MethodDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

class BitsDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;

signals:
    /// The editor refused a width the formats do not hold (WeightBitsSpinBox::refusalMessage).
    void refused(const QString& message);
};

class GroupSizeDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

/// Activation bits: a combo box of 4–8, with "none" (weight-only) for the grid methods.
class ActBitsDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

/// OmniQuant's epochs: a spin box over the plan file's range (0..core::kMaxOmniQuantEpochs).
class EpochsDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

/// A learning rate: a line edit taking any positive number ("5e-3", "0.005").
class LearningRateDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;
};

/// Fills a combo box with every quantization method (data: the plan-file name, tooltip: help).
void fillMethodCombo(QComboBox* combo);
/// Fills a combo box with the group sizes (data: int, −1 = per row).
void fillGroupSizeCombo(QComboBox* combo);

}  // namespace qb::ui

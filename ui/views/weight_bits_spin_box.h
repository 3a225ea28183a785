#pragma once
// WeightBitsSpinBox — a spin box over the weight bit widths the formats hold (2–8:
// core::kSupportedWeightBits, the one list the plan parser also uses): the arrows step through
// that list and a width outside it is refused, so the plan editor never offers what the plan
// parser would reject. A refused width is reported (widthRefused) so the window can say why
// the value went back.

#include <QSpinBox>

namespace qb::ui {

class WeightBitsSpinBox : public QSpinBox {
    Q_OBJECT
public:
    explicit WeightBitsSpinBox(QWidget* parent = nullptr);
    void stepBy(int steps) override;
    /// Intermediate (not Acceptable) for a width outside kSupportedWeightBits.
    QValidator::State validate(QString& input, int& pos) const override;
    /// Called by QSpinBox on an input that is not Acceptable; reports a refused width.
    void fixup(QString& input) const override;

    /// "5 bits is not supported: …": why a width is refused, in the words of the status bar.
    [[nodiscard]] static QString refusalMessage(int bits);

signals:
    /// The user typed bits (in range but not a supported width); the box keeps its old value.
    void widthRefused(int bits);
};

}  // namespace qb::ui

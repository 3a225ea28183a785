#pragma once
// WeightBitsSpinBox — a spin box over the weight bit widths the formats hold (2, 3, 4, 8:
// core::kSupportedWeightBits): the arrows step over 5–7 and typing one of them is refused,
// so the plan editor never offers what the plan parser would reject.

#include <QSpinBox>

namespace qb::ui {

class WeightBitsSpinBox : public QSpinBox {
public:
    explicit WeightBitsSpinBox(QWidget* parent = nullptr);
    void stepBy(int steps) override;
    /// Intermediate (not Acceptable) for a width outside kSupportedWeightBits.
    QValidator::State validate(QString& input, int& pos) const override;
};

}  // namespace qb::ui

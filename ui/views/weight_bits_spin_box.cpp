#include "ui/views/weight_bits_spin_box.h"

#include <algorithm>
#include <iterator>

#include "core/quant/quant_scheme.h"

namespace qb::ui {

WeightBitsSpinBox::WeightBitsSpinBox(QWidget* parent) : QSpinBox(parent) {
    setRange(std::begin(core::kSupportedWeightBits)[0], std::end(core::kSupportedWeightBits)[-1]);
    setSuffix(tr(" bits"));
    setToolTip(tr("Weight bits: %1 (every width the packed kernels and the checkpoint's GPTQ bit streams hold)")
                   .arg(QString::fromUtf8(core::kSupportedWeightBitsText)));
}

void WeightBitsSpinBox::stepBy(int steps) {
    const auto& bits = core::kSupportedWeightBits;
    const int n = int(std::size(bits));
    // Index of the current value (or of the next supported one above it).
    int i = int(std::lower_bound(std::begin(bits), std::end(bits), value()) - std::begin(bits));
    i = std::clamp(i + steps, 0, n - 1);
    setValue(bits[i]);
}

QValidator::State WeightBitsSpinBox::validate(QString& input, int& pos) const {
    const QValidator::State s = QSpinBox::validate(input, pos);
    if (s != QValidator::Acceptable) return s;
    return core::isSupportedWeightBits(valueFromText(input)) ? QValidator::Acceptable : QValidator::Intermediate;
}

void WeightBitsSpinBox::fixup(QString& input) const {
    QString digits = input;
    digits.remove(suffix());
    bool ok = false;
    const int bits = digits.trimmed().toInt(&ok);
    QSpinBox::fixup(input);
    if (ok && bits >= minimum() && bits <= maximum() && !core::isSupportedWeightBits(bits))
        emit const_cast<WeightBitsSpinBox*>(this)->widthRefused(bits);  // fixup is const in QAbstractSpinBox
}

QString WeightBitsSpinBox::refusalMessage(int bits) {
    return tr("%1 bits is not supported: weights are packed at %2 bits; the value was kept.")
        .arg(bits)
        .arg(QString::fromUtf8(core::kSupportedWeightBitsText));
}

}  // namespace qb::ui

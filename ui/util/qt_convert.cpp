#include "ui/util/qt_convert.h"

#include <cmath>

namespace qb::ui {

QString humanBytes(double bytes) {
    static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
    int unit = 0;
    while (bytes >= 1000.0 && unit < 4) {
        bytes /= 1000.0;
        ++unit;
    }
    if (unit == 0) return QStringLiteral("%1 B").arg(std::llround(bytes));
    return QStringLiteral("%1 %2").arg(bytes, 0, 'f', bytes < 10 ? 2 : (bytes < 100 ? 1 : 0)).arg(kUnits[unit]);
}

QString withThousands(std::uint64_t n) {
    QString digits = QString::number(n);
    for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, QLatin1Char(','));
    return digits;
}

QString humanDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
    if (seconds < 10) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
    const auto total = std::llround(seconds);
    if (total < 60) return QStringLiteral("%1 s").arg(total);
    if (total < 3600) return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60);
    return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60);
}

}  // namespace qb::ui

#include "ui/models/module_statistic.h"

#include <QCoreApplication>
#include <QObject>
#include <QStringList>

#include "core/stats/module_stats.h"
#include "ui/models/model_stats.h"

namespace qb::ui {

namespace {

const ModuleStatisticInfo kStatistics[] = {
    {ModuleStatistic::Worst, "worst", QT_TRANSLATE_NOOP("ModuleStatistic", "worst statistic (severity)"),
     QT_TRANSLATE_NOOP("ModuleStatistic", "The module's worst statistic relative to its review level, severity ≥ 1 worth a look: activation "
                                          "outlier ratio (level 20×), weight excess kurtosis (level 10) or RTN w4 g128 error (level 5 %)."),
     false},
    {ModuleStatistic::Kurtosis, "kurtosis", QT_TRANSLATE_NOOP("ModuleStatistic", "weight excess kurtosis"),
     QT_TRANSLATE_NOOP("ModuleStatistic", "m4/m2² − 3 of the weights: 0 for a Gaussian, 3 for a Laplacian; large values mean heavy tails "
                                          "that stretch a min-max grid."),
     false},
    {ModuleStatistic::OutlierFraction, "outlier_fraction", QT_TRANSLATE_NOOP("ModuleStatistic", "activation outlier fraction"),
     QT_TRANSLATE_NOOP("ModuleStatistic", "Fraction of the module's input channels flagged as outliers (|x| ≥ 6.0, LLM.int8(), or ≥ 20× "
                                          "the median channel max)."),
     false},
    {ModuleStatistic::MaxAbs, "max_abs", QT_TRANSLATE_NOOP("ModuleStatistic", "activation max |x|"),
     QT_TRANSLATE_NOOP("ModuleStatistic", "Largest |x| of the module's input over the calibration tokens (log colour scale)."), true},
    {ModuleStatistic::OutlierRatio, "outlier_ratio", QT_TRANSLATE_NOOP("ModuleStatistic", "activation outlier ratio"),
     QT_TRANSLATE_NOOP("ModuleStatistic", "Largest channel max |x| divided by the median channel max |x| (log colour scale)."), true},
    {ModuleStatistic::Sensitivity4, "sensitivity_w4_g128", QT_TRANSLATE_NOOP("ModuleStatistic", "4-bit sensitivity (RTN w4 g128)"),
     QT_TRANSLATE_NOOP("ModuleStatistic", "Relative output error ‖WXᵀ − Q(W)Xᵀ‖² / ‖WXᵀ‖² of round-to-nearest 4-bit, group 128, on the "
                                          "calibration inputs (log colour scale)."),
     true},
};

QString translated(const char* text) { return QCoreApplication::translate("ModuleStatistic", text); }

}  // namespace

std::span<const ModuleStatisticInfo> moduleStatistics() { return kStatistics; }

const ModuleStatisticInfo& statisticInfo(ModuleStatistic statistic) {
    for (const auto& s : kStatistics)
        if (s.statistic == statistic) return s;
    return kStatistics[0];
}

QString statisticName(ModuleStatistic statistic) { return translated(statisticInfo(statistic).name); }

std::optional<ModuleStatistic> statisticFromKey(const std::string& key) {
    for (const auto& s : kStatistics)
        if (key == s.key) return s.statistic;
    return std::nullopt;
}

std::optional<double> statisticValue(const core::ModuleStats& m, ModuleStatistic statistic) {
    switch (statistic) {
        case ModuleStatistic::Worst: return core::worstStatistic(m).severity;
        case ModuleStatistic::Kurtosis: return m.weight.count ? std::optional<double>(m.weight.excessKurtosis) : std::nullopt;
        case ModuleStatistic::OutlierFraction:
            if (!m.activation || m.activation->inFeatures == 0) return std::nullopt;
            return double(m.activation->outliers.size()) / double(m.activation->inFeatures);
        case ModuleStatistic::MaxAbs:
            if (!m.activation || m.activation->absmax.size() == 0) return std::nullopt;
            return m.activation->absmax.maxCoeff();
        case ModuleStatistic::OutlierRatio:
            if (!m.activation) return std::nullopt;
            return core::outlierRatio(*m.activation);
        case ModuleStatistic::Sensitivity4: return sensitivityAt(m, 4, 128);
    }
    return std::nullopt;
}

QString statisticsExplained(ModuleStatistic chosen) {
    QStringList lines{QObject::tr("The statistic this column shows (choose it above the tree or in the Overview's “Colour by”; both follow "
                                  "the same choice):")};
    for (const auto& s : kStatistics)
        lines << QStringLiteral("%1 %2 — %3").arg(s.statistic == chosen ? QStringLiteral("▶") : QStringLiteral("•"), translated(s.name),
                                                  translated(s.help));
    lines << QObject::tr("Activation statistics and the sensitivity need Inspect (F6).");
    return lines.join(QLatin1Char('\n'));
}

}  // namespace qb::ui

#include "core/stats/inspect_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/util/format.h"

namespace qb::core {
namespace {

using nlohmann::json;

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string padded(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::optional<double> rankError(const ModuleStats& m, const InspectReportOptions& o) {
    const SensitivityEntry* e = m.sensitivity.find(o.rankBits, o.rankGroup);
    return e ? e->relativeError : std::nullopt;
}

json weightJson(const WeightStats& w) {
    return {{"count", w.count},
            {"mean", number(w.mean)},
            {"std", number(w.std)},
            {"min", number(w.min)},
            {"max", number(w.max)},
            {"absmax", number(w.absmax)},
            {"excess_kurtosis", number(w.excessKurtosis)},
            {"frac_beyond_3sigma", number(w.fracBeyond3Sigma)},
            {"frac_beyond_6sigma", number(w.fracBeyond6Sigma)}};
}

json activationJson(const ActivationStats& a) {
    if (a.tokens == 0) return {{"tokens", 0}};
    Index top = 0;
    const double absmax = a.absmax.maxCoeff(&top);
    std::size_t int8 = 0, relative = 0;
    for (const OutlierChannel& o : a.outliers) {
        int8 += o.rule != OutlierRule::Relative;
        relative += o.rule != OutlierRule::LlmInt8;
    }
    return {{"tokens", a.tokens},
            {"absmax", number(absmax)},
            {"absmax_channel", top},
            {"median_channel_absmax", number(a.medianAbsmax)},
            {"outlier_ratio", number(outlierRatio(a))},
            {"mean_abs", number(a.meanAbs.mean())},
            {"rms", number(std::sqrt(a.hessianDiag.mean()))},
            {"percentile", a.options.percentile},
            {"max_percentile_abs", number(a.percentileAbs.maxCoeff())},
            {"llm_int8_channels", int8},
            {"relative_channels", relative},
            {"llm_int8_threshold", a.options.llmInt8Threshold},
            {"relative_factor", a.options.relativeFactor}};
}

json moduleJson(const ModuleStats& m, const InspectReportOptions& o) {
    json outliers = json::array();
    if (m.activation)
        for (const OutlierChannel& c : m.activation->outliers)
            outliers.push_back({{"index", c.index},
                                {"absmax", number(c.absmax)},
                                {"rule", outlierRuleName(c.rule)},
                                {"int8_fraction", number(c.int8Fraction)}});
    json sensitivity = json::object();
    for (const SensitivityEntry& e : m.sensitivity.entries)
        sensitivity[sensitivityKey(e.bits, e.groupSize)] = e.relativeError ? number(*e.relativeError) : json(nullptr);
    const WorstStatistic worst = worstStatistic(m, o.levels);
    return {{"name", m.name},
            {"shape", {m.outFeatures, m.inFeatures}},
            {"outlier_channels", outliers},
            {"weight", weightJson(m.weight)},
            {"activation", m.activation ? activationJson(*m.activation) : json(nullptr)},
            {"sensitivity", sensitivity},
            {"worst", {{"name", worst.name}, {"value", number(worst.value)}, {"severity", number(worst.severity)}}}};
}

}  // namespace

ModuleStats reportView(const ModuleStats& module) {
    ModuleStats view = module;
    if (view.activation) {
        ActivationStats a = *view.activation;  // the per-channel vectors: a few × in doubles
        a.sample = MatrixRM();
        view.activation = std::make_shared<const ActivationStats>(std::move(a));
    }
    return view;
}

std::vector<std::size_t> rankBySensitivity(const std::vector<ModuleStats>& modules, const InspectReportOptions& options) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < modules.size(); ++i)
        if (rankError(modules[i], options)) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return *rankError(modules[a], options) > *rankError(modules[b], options);
    });
    return order;
}

std::string formatInspectText(const std::vector<ModuleStats>& modules, const InspectReportOptions& options) {
    std::size_t nameWidth = 0, shapeWidth = 0;
    std::vector<std::string> shapes;
    for (const ModuleStats& m : modules) {
        nameWidth = std::max(nameWidth, m.name.size());
        std::string shape = "[";  // appended: GCC 12 warns falsely on "literal" + std::string (PR 105651)
        shape += std::to_string(m.outFeatures);
        shape += 'x';
        shape += std::to_string(m.inFeatures);
        shape += ']';
        shapes.push_back(std::move(shape));
        shapeWidth = std::max(shapeWidth, shapes.back().size());
    }
    std::string text;
    for (std::size_t i = 0; i < modules.size(); ++i) {
        const ModuleStats& m = modules[i];
        std::string channels;
        if (m.activation) {
            const auto& outliers = m.activation->outliers;
            for (std::size_t k = 0; k < outliers.size() && int(k) < options.topChannels; ++k)
                channels += (k ? ", " : "") + std::to_string(outliers[k].index) + " (" + fixed(outliers[k].absmax, 2) + ")";
            if (outliers.size() > std::size_t(std::max(options.topChannels, 0)))
                channels += ", +" + std::to_string(outliers.size() - std::size_t(options.topChannels)) + " more";
        }
        text += padded(m.name, nameWidth) + "  " + padded(shapes[i], shapeWidth) +
                "  worst: " + worstStatistic(m, options.levels).text +
                "  outliers: " + (channels.empty() ? std::string("none") : channels) + "\n";
    }
    const std::vector<std::size_t> ranked = rankBySensitivity(modules, options);
    if (ranked.empty()) return text;
    text += "\nModules ranked by RTN " + sensitivityLabel(options.rankBits, options.rankGroup) +
            " relative output error (largest first):\n";
    const std::size_t rankWidth = std::to_string(ranked.size()).size();
    for (std::size_t r = 0; r < ranked.size(); ++r) {
        const ModuleStats& m = modules[ranked[r]];
        std::string rank = std::to_string(r + 1);
        rank.insert(0, rankWidth + 2 - rank.size(), ' ');
        text += rank + ". " + padded(m.name, nameWidth) + "  " + fixed(100.0 * *rankError(m, options), 3) + "%\n";
    }
    return text;
}

std::string formatInspectJson(const std::vector<ModuleStats>& modules, const InspectReportOptions& options) {
    json report;
    report["modules"] = json::array();
    for (const ModuleStats& m : modules) report["modules"].push_back(moduleJson(m, options));
    report["sensitivity_ranking"] = json::array();
    for (std::size_t i : rankBySensitivity(modules, options))
        report["sensitivity_ranking"].push_back(
            {{"name", modules[i].name}, {"relative_error", number(*rankError(modules[i], options))}});
    return report.dump(2) + "\n";
}

}  // namespace qb::core

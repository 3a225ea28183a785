#include "core/store/module_stats_io.h"

#include <cmath>
#include <limits>

#include "core/store/hdf5_io.h"
#include "core/util/error.h"

namespace qb::core {

using namespace hdf5;

namespace {

// ---- weight -----------------------------------------------------------------------------

void writeWeight(const H5::Group& module, const WeightStats& w) {
    const H5::Group g = module.createGroup("weight");
    writeAttribute(g, "count", w.count);
    writeAttribute(g, "mean", w.mean);
    writeAttribute(g, "std", w.std);
    writeAttribute(g, "min", w.min);
    writeAttribute(g, "max", w.max);
    writeAttribute(g, "absmax", w.absmax);
    writeAttribute(g, "excess_kurtosis", w.excessKurtosis);
    writeAttribute(g, "frac_beyond_3sigma", w.fracBeyond3Sigma);
    writeAttribute(g, "frac_beyond_6sigma", w.fracBeyond6Sigma);
    writeVector(g, "histogram_counts", w.histogram.counts);
    writeVector(g, "histogram_edges", w.histogram.edges);
    writeVector(g, "row_absmax", w.rowAbsmax);
    writeVector(g, "col_absmax", w.colAbsmax);
}

WeightStats readWeight(const H5::Group& module, hsize_t out, hsize_t in) {
    const H5::Group g = openGroup(module, "weight");
    WeightStats w;
    w.count = readAttribute<std::uint64_t>(g, "count");
    w.mean = readAttribute<double>(g, "mean");
    w.std = readAttribute<double>(g, "std");
    w.min = readAttribute<double>(g, "min");
    w.max = readAttribute<double>(g, "max");
    w.absmax = readAttribute<double>(g, "absmax");
    w.excessKurtosis = readAttribute<double>(g, "excess_kurtosis");
    w.fracBeyond3Sigma = readAttribute<double>(g, "frac_beyond_3sigma");
    w.fracBeyond6Sigma = readAttribute<double>(g, "frac_beyond_6sigma");
    w.histogram.counts = readVector<std::uint64_t>(g, "histogram_counts");
    w.histogram.edges = readVector<double>(g, "histogram_edges", hsize_t(w.histogram.counts.size() + 1));
    w.rowAbsmax = readVectorD(g, "row_absmax", out);
    w.colAbsmax = readVectorD(g, "col_absmax", in);
    return w;
}

// ---- activation -------------------------------------------------------------------------

void writeActivation(const H5::Group& module, const ActivationStats& a) {
    const H5::Group g = module.createGroup("activation");
    writeAttribute(g, "tokens", a.tokens);
    writeAttribute(g, "non_finite", a.nonFinite);
    writeAttribute(g, "median_absmax", a.medianAbsmax);
    writeAttribute(g, "llm_int8_threshold", a.options.llmInt8Threshold);
    writeAttribute(g, "relative_factor", a.options.relativeFactor);
    writeAttribute(g, "percentile", a.options.percentile);
    writeAttribute(g, "percentile_octaves", std::int32_t(a.options.percentileOctaves));
    writeAttribute(g, "sample_tokens", std::int64_t(a.options.sampleTokens));
    writeVector(g, "absmax", a.absmax);
    writeVector(g, "mean_abs", a.meanAbs);
    writeVector(g, "rms", a.rms);
    writeVector(g, "hessian_diag", a.hessianDiag);
    writeVector(g, "percentile_abs", a.percentileAbs);
    writeVector(g, "int8_fraction", a.int8Fraction);
    writeMatrix(g, "sample", a.sample);

    const H5::Group t = g.createGroup("outliers");
    std::vector<std::int64_t> index;
    std::vector<double> absmax, fraction;
    std::vector<std::string> rule;
    for (const OutlierChannel& o : a.outliers) {
        index.push_back(o.index);
        absmax.push_back(o.absmax);
        rule.push_back(outlierRuleName(o.rule));
        fraction.push_back(o.int8Fraction);
    }
    writeVector(t, "index", index);
    writeVector(t, "absmax", absmax);
    writeStrings(t, "rule", rule);
    writeVector(t, "int8_fraction", fraction);
}

OutlierRule ruleFromName(const H5::Group& table, const std::string& name) {
    if (name == "llm_int8") return OutlierRule::LlmInt8;
    if (name == "relative") return OutlierRule::Relative;
    if (name == "both") return OutlierRule::Both;
    throw Error(pathOf(table) + ": unknown outlier rule '" + name + "'");
}

std::shared_ptr<const ActivationStats> readActivation(const H5::Group& module, hsize_t in) {
    const H5::Group g = openGroup(module, "activation");
    auto a = std::make_shared<ActivationStats>();
    a->inFeatures = Index(in);
    a->tokens = readAttribute<std::uint64_t>(g, "tokens");
    a->nonFinite = readAttribute<std::uint64_t>(g, "non_finite");
    a->medianAbsmax = readAttribute<double>(g, "median_absmax");
    a->options.llmInt8Threshold = readAttribute<double>(g, "llm_int8_threshold");
    a->options.relativeFactor = readAttribute<double>(g, "relative_factor");
    a->options.percentile = readAttribute<double>(g, "percentile");
    a->options.percentileOctaves = readAttribute<std::int32_t>(g, "percentile_octaves");
    a->options.sampleTokens = Index(readAttribute<std::int64_t>(g, "sample_tokens"));
    a->absmax = readVectorD(g, "absmax", in);
    a->meanAbs = readVectorD(g, "mean_abs", in);
    a->rms = readVectorD(g, "rms", in);
    a->hessianDiag = readVectorD(g, "hessian_diag", in);
    a->percentileAbs = readVectorD(g, "percentile_abs", in);
    a->int8Fraction = readVectorD(g, "int8_fraction", in);
    a->sample = readMatrix(g, "sample", in);

    const H5::Group t = openGroup(g, "outliers");
    const std::vector<std::int64_t> index = readVector<std::int64_t>(t, "index");
    const hsize_t k = index.size();
    const std::vector<double> absmax = readVector<double>(t, "absmax", k);
    const std::vector<std::string> rule = readStrings(t, "rule", k);
    const std::vector<double> fraction = readVector<double>(t, "int8_fraction", k);
    for (std::size_t i = 0; i < k; ++i) {
        if (index[i] < 0 || hsize_t(index[i]) >= in)
            throw Error(pathOf(t) + ": outlier channel " + std::to_string(index[i]) + " is outside [0, " +
                        std::to_string(in) + ")");
        a->outliers.push_back({Index(index[i]), absmax[i], ruleFromName(t, rule[i]), fraction[i]});
    }
    return a;
}

// ---- sensitivity ------------------------------------------------------------------------

void writeSensitivity(const H5::Group& module, const SensitivityTable& s) {
    const H5::Group g = module.createGroup("sensitivity");
    writeAttribute(g, "sym", std::int32_t(s.sym ? 1 : 0));
    std::vector<std::int32_t> bits, group;
    std::vector<double> error;
    std::vector<std::string> note;
    for (const SensitivityEntry& e : s.entries) {
        bits.push_back(e.bits);
        group.push_back(e.groupSize ? *e.groupSize : -1);  // the plan file's spelling of "whole row"
        error.push_back(e.relativeError ? *e.relativeError : std::numeric_limits<double>::quiet_NaN());
        note.push_back(e.note);
    }
    writeVector(g, "bits", bits);
    writeVector(g, "group_size", group);
    writeVector(g, "relative_error", error);
    writeStrings(g, "note", note);
}

SensitivityTable readSensitivity(const H5::Group& module) {
    const H5::Group g = openGroup(module, "sensitivity");
    SensitivityTable s;
    s.sym = readAttribute<std::int32_t>(g, "sym") != 0;
    const std::vector<std::int32_t> bits = readVector<std::int32_t>(g, "bits");
    const hsize_t k = bits.size();
    const std::vector<std::int32_t> group = readVector<std::int32_t>(g, "group_size", k);
    const std::vector<double> error = readVector<double>(g, "relative_error", k);
    const std::vector<std::string> note = readStrings(g, "note", k);
    for (std::size_t i = 0; i < k; ++i) {
        SensitivityEntry e;
        e.bits = bits[i];
        if (group[i] > 0) e.groupSize = group[i];
        else if (group[i] != -1) throw Error(pathOf(g) + ": group_size " + std::to_string(group[i]) + " is neither positive nor -1");
        if (!std::isnan(error[i])) e.relativeError = error[i];
        e.note = note[i];
        s.entries.push_back(std::move(e));
    }
    return s;
}

}  // namespace

void writeModuleStats(const H5::Group& modules, const ModuleStats& module, std::int64_t order, ActivationLinks& links) {
    if (module.name.empty() || module.name.find('/') != std::string::npos || module.name == "." || module.name == "..")
        throw Error("module name '" + module.name + "' cannot name an HDF5 group (empty, '.', '..' or containing '/')");
    if (modules.nameExists(module.name)) throw Error("module '" + module.name + "' appears twice");
    const H5::Group g = modules.createGroup(module.name);
    writeAttribute(g, "order", order);
    writeAttribute(g, "out_features", std::int64_t(module.outFeatures));
    writeAttribute(g, "in_features", std::int64_t(module.inFeatures));
    writeWeight(g, module.weight);
    if (module.activation) {
        const auto it = links.written.find(module.activation.get());
        if (it != links.written.end() && !it->second.object.expired()) {
            // Same object as an earlier module (q/k/v, gate/up): one group, several hard links.
            if (H5Lcreate_hard(modules.getId(), it->second.path.c_str(), g.getId(), "activation", H5P_DEFAULT, H5P_DEFAULT) < 0)
                throw Error("module '" + module.name + "': cannot link its activation statistics");
        } else {
            writeActivation(g, *module.activation);
            links.written[module.activation.get()] = {module.activation, module.name + "/activation"};
        }
    }
    writeSensitivity(g, module.sensitivity);
}

std::int64_t moduleOrder(const H5::Group& modules, const std::string& name) {
    return readAttribute<std::int64_t>(openGroup(modules, name), "order");
}

ModuleStats readModuleStats(const H5::Group& modules, const std::string& name, ActivationCache& cache) {
    const H5::Group g = openGroup(modules, name);
    ModuleStats m;
    m.name = name;
    const std::int64_t out = readAttribute<std::int64_t>(g, "out_features");
    const std::int64_t in = readAttribute<std::int64_t>(g, "in_features");
    if (out < 0 || in < 0) throw Error(pathOf(g) + ": negative shape");
    m.outFeatures = Index(out);
    m.inFeatures = Index(in);
    m.weight = readWeight(g, hsize_t(out), hsize_t(in));
    if (g.nameExists("activation")) {
        H5O_info_t info{};
        if (H5Oget_info_by_name2(g.getId(), "activation", &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
            throw Error(pathOf(g) + ": cannot open its activation statistics");
        auto& slot = cache.byAddress[info.addr];
        if (!slot) slot = readActivation(g, hsize_t(in));
        if (hsize_t(slot->inFeatures) != hsize_t(in))
            throw Error(pathOf(g) + ": shared activation statistics have " + std::to_string(slot->inFeatures) +
                        " channels, expected " + std::to_string(in));
        m.activation = slot;
    }
    m.sensitivity = readSensitivity(g);
    return m;
}

}  // namespace qb::core

#include "ui/models/plan_document.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <QUndoStack>
#include <nlohmann/json.hpp>

#include "core/quant/method_registry.h"
#include "core/quant/quantized_weight.h"
#include "core/quant/scheme_size.h"
#include "ui/models/plan_commands.h"
#include "ui/util/qt_convert.h"

namespace qb::ui {

core::QuantScheme defaultPlanScheme() {
    core::QuantScheme s;
    s.method = core::QuantMethod::Rtn;
    s.grid = {4, 128, false};
    return s;
}

bool isGridMethod(core::QuantMethod m) { return core::methodInfo(m).weightOnly; }

bool fieldApplies(const core::QuantScheme& scheme, PlanField field) {
    switch (field) {
        case PlanField::Method: return true;
        case PlanField::Bits:
        case PlanField::GroupSize:
        case PlanField::Sym: return isGridMethod(scheme.method);
        case PlanField::ActOrder: return scheme.method == core::QuantMethod::Gptq;
        case PlanField::ActBits:
            return isGridMethod(scheme.method) || scheme.method == core::QuantMethod::W8A8 ||
                   scheme.method == core::QuantMethod::SmoothQuant;
        case PlanField::Epochs:
        case PlanField::LrLwc: return scheme.method == core::QuantMethod::OmniQuant;
    }
    return false;
}

QVariant fieldValue(const core::QuantScheme& s, PlanField field) {
    switch (field) {
        case PlanField::Method: return toQString(core::methodName(s.method));
        case PlanField::Bits: return s.grid.bits;
        case PlanField::GroupSize: return s.grid.groupSize ? *s.grid.groupSize : -1;
        case PlanField::Sym: return s.grid.sym;
        case PlanField::ActOrder: return s.gptq.actOrder;
        case PlanField::ActBits: return isGridMethod(s.method) ? s.gridActBits.value_or(0) : s.smooth.actBits;
        case PlanField::Epochs: return s.omniquant.epochs;
        case PlanField::LrLwc: return s.omniquant.lrLwc;
    }
    return {};
}

bool applyField(core::QuantScheme& s, PlanField field, const QVariant& value) {
    switch (field) {
        case PlanField::Method: {
            const auto m = core::methodFromName(toStdString(value.toString()));
            if (!m) return false;
            s.method = *m;
            return true;
        }
        case PlanField::Bits: {
            bool ok = false;
            const int bits = value.toInt(&ok);
            if (!ok || !core::isSupportedWeightBits(bits)) return false;
            s.grid.bits = bits;
            return true;
        }
        case PlanField::GroupSize: {
            bool ok = false;
            const int g = value.toInt(&ok);
            if (!ok || (g <= 0 && g != -1)) return false;
            s.grid.groupSize = g == -1 ? std::nullopt : std::optional<int>(g);
            return true;
        }
        case PlanField::Sym: s.grid.sym = value.toBool(); return true;
        case PlanField::ActOrder: s.gptq.actOrder = value.toBool(); return true;
        case PlanField::ActBits: {  // as the plan file's one `act_bits` key sets it for every method
            bool ok = false;
            const int bits = value.toInt(&ok);
            if (!ok) return false;
            if (bits == 0 && isGridMethod(s.method)) {  // weight-only again
                s.smooth.actBits = 8;
                s.gridActBits.reset();
                return true;
            }
            if (bits < core::kMinActBits || bits > core::kMaxActBits) return false;
            s.smooth.actBits = bits;
            s.gridActBits = bits;
            return true;
        }
        case PlanField::Epochs: {  // the plan file's bounds
            bool ok = false;
            const int epochs = value.toInt(&ok);
            if (!ok || epochs < 0 || epochs > core::kMaxOmniQuantEpochs) return false;
            s.omniquant.epochs = epochs;
            return true;
        }
        case PlanField::LrLwc: {
            bool ok = false;
            const double lr = value.toDouble(&ok);
            if (!ok || !(lr > 0.0) || !std::isfinite(lr)) return false;
            s.omniquant.lrLwc = lr;
            return true;
        }
    }
    return false;
}

QString describeFieldValue(PlanField field, const QVariant& value) {
    switch (field) {
        case PlanField::Method: return QObject::tr("method = %1").arg(value.toString());
        case PlanField::Bits: return QObject::tr("bits = %1").arg(value.toInt());
        case PlanField::GroupSize:
            return QObject::tr("group size = %1").arg(value.toInt() == -1 ? QObject::tr("per row") : QString::number(value.toInt()));
        case PlanField::Sym: return value.toBool() ? QObject::tr("symmetric") : QObject::tr("asymmetric");
        case PlanField::ActOrder: return QObject::tr("act-order %1").arg(value.toBool() ? QObject::tr("on") : QObject::tr("off"));
        case PlanField::ActBits:
            return value.toInt() == 0 ? QObject::tr("weight-only") : QObject::tr("activation bits = %1").arg(value.toInt());
        case PlanField::Epochs: return QObject::tr("epochs = %1").arg(value.toInt());
        case PlanField::LrLwc: return QObject::tr("LWC learning rate = %1").arg(value.toDouble(), 0, 'g', 6);
    }
    return {};
}

namespace {

/// "0–3, 5, 7–8": sorted distinct layer numbers as ranges.
QString layerRanges(std::vector<int> layers) {
    std::sort(layers.begin(), layers.end());
    layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
    QStringList parts;
    for (std::size_t i = 0; i < layers.size();) {
        std::size_t j = i;
        while (j + 1 < layers.size() && layers[j + 1] == layers[j] + 1) ++j;
        parts << (j == i ? QString::number(layers[i]) : QStringLiteral("%1–%2").arg(layers[i]).arg(layers[j]));
        i = j + 1;
    }
    return parts.join(QStringLiteral(", "));
}

QString layersPhrase(const std::vector<int>& layers) {
    const QString ranges = layerRanges(layers);
    const bool one = std::all_of(layers.begin(), layers.end(), [&](int l) { return l == layers.front(); });
    return (one ? QObject::tr("layer %1") : QObject::tr("layers %1")).arg(ranges);
}

}  // namespace

bool sameScheme(const core::QuantScheme& a, const core::QuantScheme& b) { return core::schemeToJson(a) == core::schemeToJson(b); }

PlanDocument::PlanDocument(QObject* parent) : QObject(parent), m_undo(new QUndoStack(this)) {}

int PlanDocument::indexOf(const std::string& name) const {
    for (std::size_t i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].name == name) return int(i);
    return -1;
}

std::vector<core::QuantScheme> PlanDocument::schemes() const {
    std::vector<core::QuantScheme> v;
    v.reserve(m_rows.size());
    for (const auto& r : m_rows) v.push_back(r.scheme);
    return v;
}

void PlanDocument::resetModules(const std::vector<ModuleInfo>& modules) {
    m_undo->clear();
    m_rows.clear();
    m_common.reset();
    clearMarks();
    for (const auto& m : modules) m_rows.push_back({m.name, m.layer, m.kind, m.outFeatures, m.inFeatures, defaultPlanScheme()});
    emit modulesReset();
    emit totalsChanged();
}

bool PlanDocument::setField(int row, PlanField field, const QVariant& value) {
    if (row < 0 || row >= rowCount()) return false;
    core::QuantScheme after = m_rows[std::size_t(row)].scheme;
    if (!fieldApplies(after, field) || !applyField(after, field, value)) return false;
    if (sameScheme(after, m_rows[std::size_t(row)].scheme)) return true;
    const QString text = tr("Set %1 on %2").arg(describeFieldValue(field, value), describeRows({row}));
    m_undo->push(new SetSchemesCommand(this, text, {{row, m_rows[std::size_t(row)].scheme, after}},
                                       SetSchemesCommand::mergeIdFor(int(field), row)));
    return true;
}

int PlanDocument::setFieldForRows(const QList<int>& rows, PlanField field, const QVariant& value) {
    std::vector<SetSchemesCommand::Change> changes;
    for (const int row : rows) {
        if (row < 0 || row >= rowCount()) continue;
        const auto& before = m_rows[std::size_t(row)].scheme;
        core::QuantScheme after = before;
        if (!fieldApplies(after, field) || !applyField(after, field, value) || sameScheme(before, after)) continue;
        changes.push_back({row, before, after});
    }
    if (changes.empty()) return 0;
    const int n = int(changes.size());
    QList<int> changed;
    for (const auto& c : changes) changed.append(c.row);
    m_undo->push(new SetSchemesCommand(this, tr("Set %1 on %2").arg(describeFieldValue(field, value), describeRows(changed)), std::move(changes)));
    return n;
}

void PlanDocument::replaceSchemes(const std::vector<core::QuantScheme>& schemes, const QString& text) {
    std::vector<SetSchemesCommand::Change> changes;
    for (std::size_t i = 0; i < std::min(schemes.size(), m_rows.size()); ++i)
        if (!sameScheme(schemes[i], m_rows[i].scheme)) changes.push_back({int(i), m_rows[i].scheme, schemes[i]});
    if (changes.empty()) return;
    m_undo->push(new SetSchemesCommand(this, text, std::move(changes)));
}

QList<int> PlanDocument::replaceSchemesMarked(const std::vector<core::QuantScheme>& schemes, const QString& text) {
    QList<int> changed;
    for (std::size_t i = 0; i < std::min(schemes.size(), m_rows.size()); ++i)
        if (!sameScheme(schemes[i], m_rows[i].scheme)) changed.append(int(i));
    replaceSchemes(schemes, text);  // its redo clears the old marks
    m_marked = changed;
    emit markedRowsChanged();
    return changed;
}

void PlanDocument::clearMarks() {
    if (m_marked.isEmpty()) return;
    m_marked.clear();
    emit markedRowsChanged();
}

QString PlanDocument::describeRows(const QList<int>& rows) const {
    if (rows.size() == rowCount() && rowCount() > 1) return tr("all %1 modules").arg(rowCount());
    std::vector<std::pair<std::string, std::vector<int>>> kinds;  // suffix -> layers, first-seen order
    std::vector<int> allLayers;
    for (const int row : rows) {
        const auto& r = m_rows[std::size_t(row)];
        const std::string suffix = core::moduleSuffix(r.kind);
        auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == suffix; });
        if (it == kinds.end()) it = kinds.insert(kinds.end(), {suffix, {}});
        it->second.push_back(r.layer);
        allLayers.push_back(r.layer);
    }
    if (kinds.size() > 3) return tr("%1 modules in %2").arg(rows.size()).arg(layersPhrase(allLayers));
    QStringList parts;
    for (const auto& [suffix, layers] : kinds) parts << tr("%1 of %2").arg(toQString(suffix), layersPhrase(layers));
    if (parts.size() <= 1) return parts.join(QString());
    const QString last = parts.takeLast();
    return parts.join(QStringLiteral(", ")) + tr(" and ") + last;
}

void PlanDocument::setSchemesDirect(const std::vector<std::pair<int, core::QuantScheme>>& changes) {
    if (changes.empty()) return;
    m_common.reset();
    clearMarks();
    int first = rowCount(), last = -1;
    for (const auto& [row, scheme] : changes) {
        m_rows[std::size_t(row)].scheme = scheme;
        first = std::min(first, row);
        last = std::max(last, row);
    }
    emit rowsChanged(first, last);
    emit totalsChanged();
}

const core::QuantScheme& PlanDocument::commonScheme() const {
    if (m_common) return *m_common;
    m_common = defaultPlanScheme();
    std::map<std::string, int> counts;
    int bestCount = 0;
    for (const auto& r : m_rows) {
        const int c = ++counts[core::schemeToJson(r.scheme)];
        if (c > bestCount) {
            bestCount = c;
            m_common = r.scheme;
        }
    }
    return *m_common;
}

core::QuantPlan PlanDocument::toPlan() const {
    core::QuantPlan plan;
    plan.defaultScheme = commonScheme();
    const auto defaults = nlohmann::json::parse(core::schemeToJson(plan.defaultScheme));
    for (const auto& r : m_rows) {
        const auto mine = nlohmann::json::parse(core::schemeToJson(r.scheme));
        nlohmann::ordered_json diff = nlohmann::ordered_json::object();
        for (const auto& [k, v] : mine.items()) {
            const auto d = defaults.find(k);
            if (d == defaults.end() || *d != v) diff[k] = v;
        }
        // A key only the default has (act_bits of a weight-activation default on a weight-only
        // row) is reset by null, as a plan file spells it.
        for (const auto& [k, v] : defaults.items())
            if (!mine.contains(k)) diff[k] = nullptr;
        if (!diff.empty()) plan.rules.push_back({r.name, diff.dump()});
    }
    return plan;
}

void PlanDocument::applyPlan(const core::QuantPlan& plan, const QString& text) {
    std::vector<core::QuantScheme> schemes;
    schemes.reserve(m_rows.size());
    for (const auto& r : m_rows) schemes.push_back(plan.resolve(r.name));
    replaceSchemes(schemes, text);
}

void PlanDocument::loadFile(const std::filesystem::path& file) {
    const auto plan = core::QuantPlan::fromFile(file);
    applyPlan(plan, tr("Load plan %1").arg(toQString(file.filename())));
}

void PlanDocument::saveFile(const std::filesystem::path& file) const { toPlan().saveFile(file); }

std::uint64_t PlanDocument::weights() const {
    std::uint64_t n = 0;
    for (const auto& r : m_rows) n += std::uint64_t(r.outFeatures) * std::uint64_t(r.inFeatures);
    return n;
}

std::uint64_t PlanDocument::bytes() const {
    std::uint64_t n = 0;
    for (const auto& r : m_rows) n += core::schemeBytes(r.scheme, r.outFeatures, r.inFeatures);
    return n;
}

double PlanDocument::bitsPerWeight() const {
    const auto w = weights();
    return w == 0 ? 0.0 : 8.0 * double(bytes()) / double(w);
}

}  // namespace qb::ui

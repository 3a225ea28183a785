// The report's shared pieces: run selection and labels, cells and number texts, and the
// order of the sections (each section is built in report_sections.cpp or report_results.cpp).
#include "core/report/report.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <set>
#include <utility>

#include "core/quant/plan.h"
#include "core/report/report_internal.h"
#include "core/store/session_store.h"
#include "core/util/error.h"

namespace qb::core {

namespace report_detail {

std::optional<double> metric(const RunRecord& run, const std::string& key) {
    const auto it = run.metrics.find(key);
    return it == run.metrics.end() ? std::nullopt : std::optional<double>(it->second);
}

ReportCell cell(std::optional<double> v) { return v ? ReportCell(*v) : ReportCell(); }
ReportCell textCell(const std::string& s) { return s.empty() ? ReportCell() : ReportCell(s); }

ReportTable makeTable(std::string id, std::string title, std::vector<ReportColumn> columns) {
    ReportTable t;
    t.id = std::move(id);
    t.title = std::move(title);
    t.columns = std::move(columns);
    return t;
}

std::string shortSha(const std::string& sha) { return sha.size() > 12 ? sha.substr(0, 12) + "…" : sha; }

ReportSection skippedSection(std::string id, std::string title, std::string why) {
    ReportSection s;
    s.id = std::move(id);
    s.title = std::move(title);
    s.skipped = std::move(why);
    return s;
}

}  // namespace report_detail

using namespace report_detail;

std::size_t ReportTable::column(const std::string& key) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i].key == key) return i;
    throw Error("report table '" + id + "' has no column '" + key + "'");
}

const ReportSection* Report::section(const std::string& id) const {
    for (const auto& s : sections)
        if (s.id == id) return &s;
    return nullptr;
}

const ReportTable* Report::table(const std::string& id) const {
    for (const auto& s : sections)
        for (const auto& t : s.tables)
            if (t.id == id) return &t;
    return nullptr;
}

namespace {

std::string runWhat(const RunRecord& run) {
    std::string what = run.command;
    if (!run.planJson.empty()) {
        try {
            const QuantPlan plan = QuantPlan::fromJsonText(run.planJson, run.id);
            what.append(what.empty() ? "" : " ").append(plan.defaultScheme.label());
            if (!plan.rules.empty())
                what += " + " + std::to_string(plan.rules.size()) + (plan.rules.size() == 1 ? " rule" : " rules");
        } catch (const Error&) {
            what += (what.empty() ? "" : " ") + std::string("plan");
        }
    } else if (!run.modelPath.empty()) {
        what.append(what.empty() ? "" : " ").append(std::filesystem::path(run.modelPath).filename().string());
    }
    return what;
}

}  // namespace

std::vector<ReportRun> selectReportRuns(const SessionData& session, const ReportOptions& options) {
    std::vector<ReportRun> out;
    std::set<int> wanted(options.runs.begin(), options.runs.end());
    std::set<int> found;
    for (const auto& r : session.runs) {
        ReportRun rr;
        rr.id = r.id;
        rr.run = &r;
        rr.number = int(metric(r, "run_number").value_or(0));
        const bool baseline = metric(r, "baseline").value_or(0) != 0;
        if (baseline) {
            rr.number = 0;
            rr.label = metric(r, "fp16_baseline").value_or(0) != 0 ? "baseline (FP16)" : "baseline";
        } else {
            rr.label = rr.number > 0 ? "run " + std::to_string(rr.number) : r.id;
        }
        if (!baseline && !wanted.empty() && !wanted.count(rr.number)) continue;
        found.insert(rr.number);
        const std::string what = runWhat(r);
        rr.title = what.empty() ? rr.label : rr.label + " · " + what;
        out.push_back(std::move(rr));
    }
    for (const int n : wanted)
        if (!found.count(n)) throw Error("--runs: the session has no run " + std::to_string(n));
    return out;
}

Report buildReport(const SessionData& session, const std::filesystem::path& sessionFile, const ReportOptions& options,
                   const RunContext* ctx) {
    const std::vector<ReportRun> runs = selectReportRuns(session, options);
    if (options.compare) {
        for (const int n : {options.compare->first, options.compare->second})
            if (std::none_of(runs.begin(), runs.end(), [&](const ReportRun& r) { return r.number == n; }))
                throw Error("--compare: run " + std::to_string(n) + " is not among the report's runs");
    }
    const ReportInput in{session, runs, options, sessionFile};
    Report report;
    report.sessionFile = sessionFile.string();
    report.generatedUtc = options.generatedUtc.empty() ? utcNowIso8601() : options.generatedUtc;
    report.author = options.author;
    report.quantbenchVersion = QB_VERSION;
    for (const auto& r : runs) report.runLabels.push_back(r.title);
    // The sections in report order; a stop is honoured between them.
    const std::pair<const char*, std::function<ReportSection()>> sections[] = {
        {"model", [&] { return modelSection(in, report.modelName); }},
        {"protocol", [&] { return protocolSection(in); }},
        {"plan", [&] { return planSection(in); }},
        {"outliers", [&] { return outlierSection(in); }},
        {"sensitivity", [&] { return sensitivitySection(in); }},
        {"module_errors", [&] { return moduleErrorSection(in); }},
        {"training", [&] { return trainingSection(in); }},
        {"quality", [&] { return qualitySection(in); }},
        {"latency", [&] { return latencySection(in); }},
        {"pareto", [&] { return paretoSection(in); }},
        {"changes", [&] { return changesSection(in); }},
        {"environment", [&] { return environmentSection(in); }},
    };
    const double count = double(std::size(sections));
    for (std::size_t i = 0; i < std::size(sections); ++i) {
        if (ctx) {
            ctx->throwIfStopped();
            ctx->progress(double(i) / count, std::string("report section ") + sections[i].first);
        }
        report.sections.push_back(sections[i].second());
    }
    if (ctx) ctx->progress(1.0, "report sections");  // done: a terminal's progress line is cleared
    report.title = "Quantization report: " + report.modelName;
    return report;
}

std::string exactNumberText(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
    return std::string(buf, res.ptr);
}

std::string readableNumberText(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "∞" : "-∞";
    const double a = std::fabs(v);
    char buf[64];
    if (v == std::round(v) && a < 1e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
        std::string s = buf, out;
        const std::size_t start = s[0] == '-' ? 1 : 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            out += s[i];
            const std::size_t rest = s.size() - 1 - i;
            if (i >= start && rest > 0 && rest % 3 == 0) out += ',';
        }
        return out;
    }
    if (a >= 1000) std::snprintf(buf, sizeof buf, "%.1f", v);
    else if (a >= 1) std::snprintf(buf, sizeof buf, "%.3f", v);
    else if (a >= 1e-3) std::snprintf(buf, sizeof buf, "%.4f", v);
    else std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string readableCellText(const ReportCell& cell) {
    if (const auto* d = std::get_if<double>(&cell)) return readableNumberText(*d);
    if (const auto* s = std::get_if<std::string>(&cell)) return *s;
    return "—";
}

std::optional<PaperSize> parsePaperSize(const std::string& name) {
    std::string lower;
    for (char ch : name) lower += char(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "a4") return PaperSize::A4;
    if (lower == "letter") return PaperSize::Letter;
    return std::nullopt;
}

const char* paperSizeName(PaperSize paper) { return paper == PaperSize::Letter ? "letter" : "a4"; }

}  // namespace qb::core

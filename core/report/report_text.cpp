#include "core/report/report_text.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "core/util/temp_path.h"

namespace qb::core {

namespace {

nlohmann::ordered_json cellJson(const ReportCell& c) {
    if (const auto* d = std::get_if<double>(&c)) return std::isfinite(*d) ? nlohmann::ordered_json(*d) : nlohmann::ordered_json();
    if (const auto* s = std::get_if<std::string>(&c)) return *s;
    return nullptr;
}

nlohmann::ordered_json tableJson(const ReportTable& t) {
    nlohmann::ordered_json j;
    j["id"] = t.id;
    j["title"] = t.title;
    auto cols = nlohmann::ordered_json::array();
    for (const auto& c : t.columns) cols.push_back({{"key", c.key}, {"title", c.title}, {"unit", c.unit}});
    j["columns"] = cols;
    auto rows = nlohmann::ordered_json::array();
    for (const auto& r : t.rows) {
        nlohmann::ordered_json row = nlohmann::ordered_json::object();
        for (std::size_t i = 0; i < t.columns.size(); ++i) row[t.columns[i].key] = cellJson(r[i]);
        rows.push_back(row);
    }
    j["rows"] = rows;
    return j;
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csvCell(const ReportCell& c) {
    if (const auto* d = std::get_if<double>(&c)) return exactNumberText(*d);
    if (const auto* s = std::get_if<std::string>(&c)) return csvField(*s);
    return "";
}

std::string mdEscape(std::string s) {
    std::string out;
    for (const char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

/// A Markdown table of the named columns of t (those it has).
std::string mdTable(const ReportTable& t, const std::vector<std::string>& keys) {
    std::vector<std::size_t> idx;
    for (const auto& k : keys)
        for (std::size_t i = 0; i < t.columns.size(); ++i)
            if (t.columns[i].key == k) idx.push_back(i);
    std::string out = "|", rule = "|";
    for (const auto i : idx) {
        const auto& c = t.columns[i];
        out.append(" ").append(mdEscape(c.title)).append(c.unit.empty() ? "" : " (" + c.unit + ")").append(" |");
        rule += "---|";
    }
    out += "\n" + rule + "\n";
    for (const auto& r : t.rows) {
        out += "|";
        for (const auto i : idx) out.append(" ").append(mdEscape(readableCellText(r[i]))).append(" |");
        out += "\n";
    }
    return out;
}

}  // namespace

std::string reportToJson(const Report& report) {
    nlohmann::ordered_json j;
    j["format"] = "quantbench-report";
    j["version"] = 1;
    j["title"] = report.title;
    j["model"] = report.modelName;
    j["session"] = report.sessionFile;
    j["generated_utc"] = report.generatedUtc;
    j["author"] = report.author;
    j["quantbench_version"] = report.quantbenchVersion;
    j["runs"] = report.runLabels;
    auto sections = nlohmann::ordered_json::array();
    for (const auto& s : report.sections) {
        nlohmann::ordered_json js;
        js["id"] = s.id;
        js["title"] = s.title;
        js["skipped"] = s.skipped.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(s.skipped);
        js["lines"] = s.lines;
        js["warnings"] = s.warnings;
        js["plots"] = s.plots;
        auto tables = nlohmann::ordered_json::array();
        for (const auto& t : s.tables) tables.push_back(tableJson(t));
        js["tables"] = tables;
        sections.push_back(js);
    }
    j["sections"] = sections;
    return j.dump(2) + "\n";
}

std::string reportToCsv(const Report& report) {
    std::string out;
    for (const auto& s : report.sections)
        for (const auto& t : s.tables) {
            out += "# table: " + t.id + "\n";
            for (std::size_t i = 0; i < t.columns.size(); ++i) out.append(i ? "," : "").append(csvField(t.columns[i].key));
            out += "\n";
            for (const auto& r : t.rows) {
                for (std::size_t i = 0; i < r.size(); ++i) out.append(i ? "," : "").append(csvCell(r[i]));
                out += "\n";
            }
            out += "\n";
        }
    return out;
}

std::string reportToMarkdown(const Report& report) {
    std::string out = "## " + report.title + "\n\n";
    out += "Session `" + report.sessionFile + "`, " + std::to_string(report.runLabels.size()) + " runs, generated " +
           report.generatedUtc + (report.author.empty() ? "" : " by " + report.author) + " (quantbench " +
           report.quantbenchVersion + ").\n\n";
    if (const auto* t = report.table("quality")) {
        out += "**Quality**\n\n" + mdTable(*t, {"run", "bits_per_weight", "perplexity", "reference", "perplexity_delta_percent",
                                               "kld_mean", "top1_agreement_percent"}) + "\n";
    }
    if (const auto* t = report.table("latency"))
        out += "**Latency against FP16**\n\n" + mdTable(*t, {"run", "decode_ms_per_token", "decode_speedup",
                                                             "prefill_tokens_per_second", "prefill_speedup", "weight_bytes"}) + "\n";
    if (const auto* t = report.table("plan_summary"))
        out += "**Plans**\n\n" + mdTable(*t, {"run", "default_scheme", "rules", "bits_per_weight", "bytes"}) + "\n";
    if (const auto* t = report.table("training_loss"))
        out += "**OmniQuant training loss**\n\n" +
               mdTable(*t, {"run_layer", "epochs", "first_loss", "last_loss", "change_percent"}) + "\n";
    std::vector<std::string> warnings, skipped;
    for (const auto& s : report.sections) {
        for (const auto& w : s.warnings)
            if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
        if (!s.skipped.empty()) skipped.push_back(s.title + ": " + s.skipped);
    }
    if (!warnings.empty()) {
        out += "> **Warning — figures measured under different protocols:**\n";
        for (const auto& w : warnings) out += "> - " + w + "\n";
        out += "\n";
    }
    if (!skipped.empty()) {
        out += "Not in this report:\n";
        for (const auto& s : skipped) out += "- " + s + "\n";
        out += "\n";
    }
    return out;
}

void writeFileAtomically(const std::filesystem::path& path, const std::string& bytes) {
    const std::filesystem::path tmp = atomicTempPath(path);
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) throw Error(path.string() + ": cannot write (folder missing or not writable)");
        f.write(bytes.data(), std::streamsize(bytes.size()));
        f.close();
        if (!f) {
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            throw Error(path.string() + ": write failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        throw Error(path.string() + ": cannot rename into place: " + ec.message());
    }
}

ReportFormat reportFormatOf(const std::filesystem::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (ext == ".json") return ReportFormat::Json;
    if (ext == ".csv") return ReportFormat::Csv;
    if (ext == ".md") return ReportFormat::Markdown;
    if (ext == ".html" || ext == ".htm") return ReportFormat::Html;
    if (ext == ".pdf") return ReportFormat::Pdf;
    throw Error(path.string() + ": unknown report format '" + ext + "' (use .html, .pdf, .md, .csv or .json)");
}

}  // namespace qb::core

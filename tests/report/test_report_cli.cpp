// quantbench-cli report (issue 13) on a session made by the CLI itself on the bundled model
// (inspect, eval, two quantize runs, eval --baseline, bench): the JSON and CSV hold every value
// the session holds, the HTML references nothing outside itself, the PDF has its pages, a bad
// session writes nothing.
#include <QProcess>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/store/session_store.h"
#include "support/cli_process.h"
#include "support/test_support.h"

using namespace qb;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using test::CliRun;
using test::runCli;
using test::readBytes;

QString qpath(const fs::path& p) { return QString::fromStdString(p.string()); }

/// The rows of table id of a parsed JSON report, or an empty array.
json tableRows(const json& report, const std::string& id) {
    for (const auto& s : report["sections"])
        for (const auto& t : s["tables"])
            if (t["id"] == id) return t["rows"];
    return json::array();
}

const json* sectionOf(const json& report, const std::string& id) {
    for (const auto& s : report["sections"])
        if (s["id"] == id) return &s;
    return nullptr;
}

/// The run whose "run N" label is label.
const core::RunRecord& runOf(const core::SessionData& d, const std::string& label) {
    for (const auto& r : d.runs)
        if ("run " + std::to_string(int(r.metrics.at("run_number"))) == label) return r;
    throw std::runtime_error("no " + label);
}

/// Compares a JSON cell with a metric the session may not have (then the cell is null).
void checkMetric(const json& cell, const core::RunRecord& run, const std::string& key) {
    const auto it = run.metrics.find(key);
    if (it == run.metrics.end()) {
        QVERIFY2(cell.is_null(), key.c_str());
        return;
    }
    QVERIFY2(cell.is_number(), key.c_str());
    QCOMPARE(cell.get<double>(), it->second);
}

/// CSV of the report: table id -> rows of fields (header first). Quoted fields per RFC 4180.
std::map<std::string, std::vector<std::vector<std::string>>> parseCsv(const std::string& text) {
    std::map<std::string, std::vector<std::vector<std::string>>> tables;
    std::string current;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("# table: ", 0) == 0) {
            current = line.substr(9);
            continue;
        }
        if (line.empty()) continue;
        std::vector<std::string> fields(1);
        bool quoted = false;
        for (std::size_t i = 0; i < line.size(); ++i) {
            const char c = line[i];
            if (quoted) {
                if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') fields.back() += '"', ++i;
                else if (c == '"') quoted = false;
                else fields.back() += c;
            } else if (c == '"') quoted = true;
            else if (c == ',') fields.emplace_back();
            else fields.back() += c;
        }
        tables[current].push_back(fields);
    }
    return tables;
}

}  // namespace

class TestReportCli : public QObject {
    Q_OBJECT
    fs::path m_dir, m_session;

private slots:
    void initTestCase() {
        m_dir = test::freshScratchDir("report_cli");
        m_session = m_dir / "team.h5";
        const fs::path model = test::bundledModelDir(), calib = test::bundledText("calib.txt"), text = test::bundledText("eval.txt");
        const std::string evalText = readBytes(text);
        std::ofstream(m_dir / "eval-small.txt", std::ios::binary) << evalText.substr(0, evalText.find('\n', 6000) + 1);
        std::ofstream(m_dir / "p1.json") << R"({"default": {"method": "rtn", "bits": 4, "group_size": 32}})";
        std::ofstream(m_dir / "p2.json")
            << R"({"default": {"method": "gptq", "bits": 4, "group_size": 32}, "rules": [{"match": "model.layers.0.*", "bits": 8}]})";
        const QStringList small = {"--threads", "2", "--session", qpath(m_session)};
        const QList<QStringList> commands = {
            {"inspect", "--model", qpath(model), "--calib", qpath(calib), "--calib-windows", "2", "--calib-ctx", "64", "--out",
             qpath(m_session), "--threads", "2"},
            QStringList{"eval", "--model", qpath(model), "--text", qpath(text), "--ctx", "64", "--max-windows", "2"} + small,
            QStringList{"quantize", "--model", qpath(model), "--plan", qpath(m_dir / "p1.json"), "--calib", qpath(calib),
                        "--calib-windows", "2", "--calib-ctx", "64", "--out", qpath(m_dir / "q1"), "--eval",
                        qpath(m_dir / "eval-small.txt"), "--eval-ctx", "64"} + small,
            QStringList{"quantize", "--model", qpath(model), "--plan", qpath(m_dir / "p2.json"), "--calib", qpath(calib),
                        "--calib-windows", "2", "--calib-ctx", "64", "--out", qpath(m_dir / "q2"), "--eval",
                        qpath(m_dir / "eval-small.txt"), "--eval-ctx", "64"} + small,
            QStringList{"eval", "--model", qpath(m_dir / "q2"), "--baseline", qpath(model), "--text", qpath(text), "--ctx", "64",
                        "--max-windows", "2"} + small,
            QStringList{"bench", "--model", qpath(m_dir / "q2"), "--prompt-tokens", "16", "--gen-tokens", "8"} + small,
        };
        for (const auto& c : commands) {
            const CliRun r = runCli(c);
            QVERIFY2(r.exitCode == 0, qPrintable(c.join(' ') + "\n" + r.err));
        }
    }

    void jsonHoldsEveryValueOfTheSession() {
        const fs::path out = m_dir / "report.json";
        const CliRun r = runCli({"report", "--session", qpath(m_session), "--out", qpath(out), "--author", "Ada"});
        QVERIFY2(r.exitCode == 0, r.err.constData());
        const json j = json::parse(readBytes(out));
        const core::SessionData d = core::SessionStore::read(m_session);
        QCOMPARE(j["format"].get<std::string>(), std::string("quantbench-report"));
        QCOMPARE(j["author"].get<std::string>(), std::string("Ada"));
        QCOMPARE(int(j["runs"].size()), 5);

        // Model: provenance, architecture and the weight files' header hashes.
        std::map<std::string, json> model;
        for (const auto& row : tableRows(j, "model")) model[row["property"]] = row["value"];
        QCOMPARE(model["config_sha256"].get<std::string>(), d.provenance.configSha256);
        QCOMPARE(model["architecture"].get<std::string>(), std::string("LlamaForCausalLM"));
        QCOMPARE(model["layers"].get<double>(), 5.0);
        QCOMPARE(model["parameters"].get<double>(), 260032.0);
        const json files = tableRows(j, "weight_files");
        QCOMPARE(int(files.size()), int(d.provenance.safetensorsHeaders.size()));
        QCOMPARE(files[0]["header_sha256"].get<std::string>(), d.provenance.safetensorsHeaders[0].sha256);

        // Quality: every figure equals the stored metric; Δ% against the unquantized eval run or the run's own baseline.
        const json quality = tableRows(j, "quality");
        QCOMPARE(int(quality.size()), 4);  // eval, 2 × quantize --eval, eval --baseline
        const double reference = runOf(d, "run 1").metrics.at("perplexity");
        for (const auto& row : quality) {
            const core::RunRecord& run = runOf(d, row["run"]);
            for (const char* key : {"perplexity", "bits_per_weight", "kld_mean", "kld_median", "kld_p90", "kld_p99", "kld_max",
                                    "top1_agreement_percent", "delta_p_rms_percent", "worst_1pct_top1_percent"})
                checkMetric(row[key], run, key);
            if (run.metrics.count("baseline_perplexity")) {
                QCOMPARE(row["reference_perplexity"].get<double>(), run.metrics.at("baseline_perplexity"));
                QCOMPARE(row["perplexity_delta_percent"].get<double>(), run.metrics.at("perplexity_delta_percent"));
            } else if (row["run"] != "run 1") {
                QCOMPARE(row["reference_perplexity"].get<double>(), reference);
                QCOMPARE(row["perplexity_delta_percent"].get<double>(), 100.0 * (run.metrics.at("perplexity") / reference - 1.0));
            }
        }
        // quantize --eval scored another text than the eval run: the comparison carries a warning.
        const json* q = sectionOf(j, "quality");
        QVERIFY(q && !(*q)["warnings"].empty());
        QVERIFY((*q)["warnings"][0].get<std::string>().find("eval text differs") != std::string::npos);

        // Latency: the bench run's figures and its FP16 figures.
        const json latency = tableRows(j, "latency");
        QCOMPARE(int(latency.size()), 1);
        const core::RunRecord& bench = runOf(d, latency[0]["run"]);
        for (const char* key : {"decode_ms_per_token", "fp16_decode_ms_per_token", "prefill_tokens_per_second",
                                "fp16_prefill_tokens_per_second", "weight_bytes", "fp16_weight_bytes", "peak_rss_bytes",
                                "fp16_peak_rss_bytes"})
            checkMetric(latency[0][key], bench, key);
        QCOMPARE(latency[0]["decode_speedup"].get<double>(),
                 bench.metrics.at("fp16_decode_ms_per_token") / bench.metrics.at("decode_ms_per_token"));

        // Per-module errors of both quantize runs, every module.
        const json errors = tableRows(j, "module_errors");
        QCOMPARE(int(errors.size()), 35);
        for (const auto& row : errors)
            for (const char* label : {"run 2", "run 3"}) {
                const std::string key = std::string("run_") + (label + 4);
                QCOMPARE(row[key].get<double>(), runOf(d, label).moduleErrors.at(row["module"]));
            }

        // Sensitivity: every entry of every module, ranked by RTN w4 g128 (descending).
        const json sens = tableRows(j, "sensitivity");
        QCOMPARE(int(sens.size()), int(d.modules.size()));
        double previous = INFINITY;
        for (const auto& row : sens) {
            const auto& m = *std::find_if(d.modules.begin(), d.modules.end(), [&](const auto& x) { return x.name == row["module"]; });
            for (const auto& e : m.sensitivity.entries) {
                const std::string key = "rtn_" + core::sensitivityKey(e.bits, e.groupSize);
                if (e.relativeError) QCOMPARE(row[key].get<double>(), *e.relativeError);
                else QVERIFY(row[key].is_null());
            }
            QVERIFY(row["rtn_w4_g128"].get<double>() <= previous);
            previous = row["rtn_w4_g128"].get<double>();
        }

        // Outliers: the ratio of every module.
        for (const auto& row : tableRows(j, "outlier_overview")) {
            const auto& m = *std::find_if(d.modules.begin(), d.modules.end(), [&](const auto& x) { return x.name == row["module"]; });
            QCOMPARE(row["outlier_ratio"].get<double>(), core::outlierRatio(*m.activation));
            QCOMPARE(row["outlier_channels"].get<double>(), double(m.activation->outliers.size()));
        }

        // Plans: the measured size is the run's; the plan's size uses the plan view's formula
        // (an 8-bit layer 0 makes run 3 larger than run 2).
        const json plans = tableRows(j, "plan_summary");
        QCOMPARE(int(plans.size()), 2);
        for (const auto& row : plans) {
            checkMetric(row["measured_bits_per_weight"], runOf(d, row["run"]), "bits_per_weight");
            checkMetric(row["measured_bytes"], runOf(d, row["run"]), "bytes");
        }
        QVERIFY(plans[1]["bytes"].get<double>() > plans[0]["bytes"].get<double>());
        QCOMPARE(int(tableRows(j, "plan_modules").size()), 70);

        // Protocols: the stored fields of each run.
        for (const auto& row : tableRows(j, "protocols")) {
            const core::Protocol& p = *runOf(d, row["run"]).protocol;
            if (p.eval) {
                QCOMPARE(row["eval_sha256"].get<std::string>(), p.eval->sha256);
                QCOMPARE(row["eval_windows"].get<double>(), double(p.eval->windows));
            } else QVERIFY(row["eval_sha256"].is_null());
            if (p.calibration) QCOMPARE(row["calibration_seed"].get<double>(), double(p.calibration->seed));
        }
        // Environment and the comparison of the last two planned runs.
        QCOMPARE(int(tableRows(j, "environment").size()), 5);
        const json changes = tableRows(j, "changes");
        QVERIFY(!changes.empty());
        for (const auto& row : changes)
            if (row["item"] == "bits_per_weight") {
                QCOMPARE(row["a"].get<double>(), runOf(d, "run 2").metrics.at("bits_per_weight"));
                QCOMPARE(row["b"].get<double>(), runOf(d, "run 3").metrics.at("bits_per_weight"));
            }
    }

    void csvHoldsTheSameTablesAsTheJson() {
        const fs::path jsonOut = m_dir / "same.json", csvOut = m_dir / "same.csv";
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(jsonOut)}).exitCode, 0);
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(csvOut)}).exitCode, 0);
        const json j = json::parse(readBytes(jsonOut));
        const auto csv = parseCsv(readBytes(csvOut));
        int tables = 0, numbers = 0;
        for (const auto& s : j["sections"])
            for (const auto& t : s["tables"]) {
                ++tables;
                const auto it = csv.find(t["id"]);
                QVERIFY2(it != csv.end(), t["id"].get<std::string>().c_str());
                const auto& rows = it->second;
                QCOMPARE(int(rows.size()), int(t["rows"].size()) + 1);
                for (std::size_t c = 0; c < t["columns"].size(); ++c) QCOMPARE(rows[0][c], t["columns"][c]["key"].get<std::string>());
                for (std::size_t r = 0; r < t["rows"].size(); ++r)
                    for (std::size_t c = 0; c < t["columns"].size(); ++c) {
                        const json& v = t["rows"][r][t["columns"][c]["key"].get<std::string>()];
                        const std::string& field = rows[r + 1][c];
                        if (v.is_null()) QCOMPARE(field, std::string());
                        else if (v.is_string()) QCOMPARE(field, v.get<std::string>());
                        else {
                            QCOMPARE(std::stod(field), v.get<double>());  // reads back the exact double
                            ++numbers;
                        }
                    }
            }
        QCOMPARE(int(csv.size()), tables);
        QVERIFY(numbers > 500);
    }

    void htmlIsSelfContained() {
        const fs::path out = m_dir / "report.html";
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(out)}).exitCode, 0);
        const std::string html = readBytes(out);
        QVERIFY(html.find("http://") == std::string::npos);
        QVERIFY(html.find("https://") == std::string::npos);
        QVERIFY(html.find("<script src") == std::string::npos && html.find("<link") == std::string::npos);
        QVERIFY(html.find("@import") == std::string::npos && html.find("url(") == std::string::npos);
        QVERIFY(html.find("<nav id=\"contents\">") != std::string::npos);
        QVERIFY(html.find("prefers-color-scheme: dark") != std::string::npos);
        QVERIFY(html.find("table.sortable th") != std::string::npos);  // the sorting script
        // One inline SVG per plot: the overview heatmap, 3 outlier modules, module errors, perplexity, latency, prefill, Pareto.
        std::size_t svgs = 0;
        for (std::size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++svgs;
        QCOMPARE(int(svgs), 9);
        QVERIFY(html.find("Different protocols") != std::string::npos);
    }

    void pdfHasTheExpectedPages() {
        if (QStandardPaths::findExecutable(QStringLiteral("pdftotext")).isEmpty())
            QSKIP("pdftotext is not installed (poppler-utils): the PDF's pages are not checked");
        const fs::path out = m_dir / "report.pdf";
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(out), "--author", "Ada Lovelace"}).exitCode, 0);
        QProcess p;
        p.start(QStringLiteral("pdftotext"), {"-layout", qpath(out), "-"});
        QVERIFY(p.waitForFinished(30000));
        const QString text = QString::fromUtf8(p.readAllStandardOutput());
        QStringList pages = text.split(QChar('\f'));
        if (pages.last().trimmed().isEmpty()) pages.removeLast();
        QVERIFY(pages.size() >= 5);
        for (int i = 0; i < pages.size(); ++i)
            QVERIFY2(pages[i].contains(QStringLiteral("page %1 of %2").arg(i + 1).arg(pages.size())), qPrintable(QString::number(i + 1)));
        QVERIFY(pages[0].contains(QStringLiteral("Quantization report: stories260K")));
        QVERIFY(pages[0].contains(QStringLiteral("Model: stories260K")));
        QVERIFY(pages[0].contains(QStringLiteral("Author: Ada Lovelace")));
        QVERIFY(pages[0].contains(QRegularExpression(QStringLiteral("Date: \\d{4}-\\d\\d-\\d\\dT"))));
        for (const char* title : {"Data and protocol", "Plan", "Outliers", "Sensitivity", "Per-module relative output error",
                                  "Quality against the references", "Latency and memory against FP16", "Size against perplexity",
                                  "What changed between two runs", "Environment"})
            QVERIFY2(text.contains(QString::fromUtf8(title)), title);
        // Vector plots: the axis labels are text in the PDF, not pixels.
        QVERIFY(text.contains(QStringLiteral("bits per weight (linear modules")));
    }

    void pdfPaperIsA4OrLetter_data() {
        QTest::addColumn<QString>("paper");
        QTest::addColumn<QString>("pageSize");  // pdfinfo's "Page size:" line, in points
        QTest::newRow("a4") << "a4" << "595 x 842 pts (A4)";
        QTest::newRow("letter") << "Letter" << "612 x 792 pts (letter)";
    }
    void pdfPaperIsA4OrLetter() {
        QFETCH(QString, paper);
        QFETCH(QString, pageSize);
        if (QStandardPaths::findExecutable(QStringLiteral("pdfinfo")).isEmpty())
            QSKIP("pdfinfo is not installed (poppler-utils): the page size is not checked");
        const fs::path out = m_dir / ("paper-" + paper.toStdString() + ".pdf");
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(out), "--paper", paper}).exitCode, 0);
        QProcess p;
        p.start(QStringLiteral("pdfinfo"), {qpath(out)});
        QVERIFY(p.waitForFinished(30000));
        const QString info = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(info.contains(QRegularExpression(QStringLiteral("Page size:\\s+") + QRegularExpression::escape(pageSize))), qPrintable(info));
    }
    void anUnknownPaperIsOneErrorLineAndWritesNothing() {
        const fs::path out = m_dir / "paper-legal.pdf";
        const CliRun r = runCli({"report", "--session", qpath(m_session), "--out", qpath(out), "--paper", "legal"});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(QString::fromUtf8(r.err).trimmed(), QStringLiteral("error: --paper legal: use a4 or letter"));
        QVERIFY(!fs::exists(out));
    }

    void markdownIsAShortSummary() {
        const fs::path out = m_dir / "report.md";
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(out)}).exitCode, 0);
        const std::string md = readBytes(out);
        QVERIFY(md.find("## Quantization report: stories260K") != std::string::npos);
        QVERIFY(md.find("| run 4 |") != std::string::npos);
        QVERIFY(md.find("Warning") != std::string::npos);
        QVERIFY(std::count(md.begin(), md.end(), '\n') < 60);
    }

    void runsSelectsTheRuns() {
        const fs::path out = m_dir / "two.json";
        QCOMPARE(runCli({"report", "--session", qpath(m_session), "--out", qpath(out), "--runs", "2,3"}).exitCode, 0);
        const json j = json::parse(readBytes(out));
        QCOMPARE(int(j["runs"].size()), 2);
        QCOMPARE(int(tableRows(j, "quality").size()), 2);
        QVERIFY(!(*sectionOf(j, "latency"))["skipped"].is_null());  // the bench run is not selected
        const CliRun bad = runCli({"report", "--session", qpath(m_session), "--out", qpath(m_dir / "none.json"), "--runs", "9"});
        QCOMPARE(bad.exitCode, 1);
        QVERIFY(bad.err.startsWith("error: --runs: the session has no run 9"));
        QVERIFY(!fs::exists(m_dir / "none.json"));
    }

    void sectionsWithoutDataSaySoInOneLine() {
        const fs::path dir = test::freshScratchDir("report_cli_eval_only");
        const fs::path session = dir / "eval.h5";
        QCOMPARE(runCli({"eval", "--model", qpath(test::bundledModelDir()), "--text", qpath(test::bundledText("eval.txt")), "--ctx",
                         "64", "--max-windows", "1", "--threads", "2", "--session", qpath(session)})
                     .exitCode,
                 0);
        QCOMPARE(runCli({"report", "--session", qpath(session), "--out", qpath(dir / "r.json")}).exitCode, 0);
        const json j = json::parse(readBytes(dir / "r.json"));
        for (const char* id : {"plan", "outliers", "sensitivity", "module_errors", "training", "latency", "changes"}) {
            const json* s = sectionOf(j, id);
            QVERIFY2(s && s->at("skipped").is_string() && s->at("tables").empty(), id);
        }
        QVERIFY(sectionOf(j, "quality")->at("skipped").is_null());
    }

    // OmniQuant (issue 15): each trained layer's loss per epoch, as the session holds it, in the
    // table (with first, last, lowest and the change) and drawn per run in the HTML.
    void anOmniQuantRunsLossHistoryIsInTheReport() {
        const fs::path dir = test::freshScratchDir("report_cli_omniquant");
        const fs::path session = dir / "s.h5";
        std::ofstream(dir / "plan.json") << R"({"default": {"method": "omniquant", "bits": 3, "group_size": 32, "epochs": 3}})";
        const CliRun q = runCli({"quantize", "--model", qpath(test::bundledModelDir()), "--plan", qpath(dir / "plan.json"), "--calib",
                                 qpath(test::bundledText("calib.txt")), "--calib-windows", "2", "--calib-ctx", "64", "--out",
                                 qpath(dir / "q"), "--threads", "1", "--session", qpath(session)});
        QVERIFY2(q.exitCode == 0, q.err.constData());
        QCOMPARE(runCli({"report", "--session", qpath(session), "--out", qpath(dir / "r.json")}).exitCode, 0);
        const json j = json::parse(readBytes(dir / "r.json"));
        const core::RunRecord run = core::SessionStore::read(session).runs.at(0);
        QCOMPARE(int(run.trainingLoss.size()), 5);
        const json rows = tableRows(j, "training_loss");
        QCOMPARE(int(rows.size()), 5);
        for (const auto& row : rows) {
            const int layer = row["layer"].get<int>();
            const std::vector<double>& history = run.trainingLoss.at(layer);
            QCOMPARE(row["run_layer"].get<std::string>(), "run 1, layer " + std::to_string(layer));
            QCOMPARE(row["epochs"].get<double>(), 3.0);
            for (int e = 0; e < 3; ++e) QCOMPARE(row["epoch_" + std::to_string(e + 1)].get<double>(), history[std::size_t(e)]);
            QCOMPARE(row["first_loss"].get<double>(), history.front());
            QCOMPARE(row["last_loss"].get<double>(), history.back());
            QCOMPARE(row["lowest_loss"].get<double>(), *std::min_element(history.begin(), history.end()));
            QCOMPARE(row["change_percent"].get<double>(), 100.0 * (history.back() / history.front() - 1.0));
        }
        const json* section = sectionOf(j, "training");
        QVERIFY(section && section->at("plots") == json::array({"training_loss:run-1"}));

        QCOMPARE(runCli({"report", "--session", qpath(session), "--out", qpath(dir / "r.html")}).exitCode, 0);
        const std::string html = readBytes(dir / "r.html");
        QVERIFY(html.find("<title>training_loss:run-1</title>") != std::string::npos);  // the plot's SVG
        QVERIFY(html.find("OmniQuant training loss · run 1") != std::string::npos);
        QCOMPARE(runCli({"report", "--session", qpath(session), "--out", qpath(dir / "r.md")}).exitCode, 0);
        const std::string md = readBytes(dir / "r.md");  // the summary: first and last loss per layer
        QVERIFY(md.find("**OmniQuant training loss**") != std::string::npos);
        QVERIFY(md.find("| run 1, layer 4 | 3 |") != std::string::npos);
    }

    void aBadSessionWritesNothing_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("html") << "r.html";
        QTest::newRow("pdf") << "r.pdf";
        QTest::newRow("json") << "r.json";
    }
    void aBadSessionWritesNothing() {
        QFETCH(QString, file);
        const fs::path dir = test::freshScratchDir("report_cli_bad");
        std::ofstream(dir / "garbage.h5", std::ios::binary) << "not an HDF5 file at all";
        const CliRun r = runCli({"report", "--session", qpath(dir / "garbage.h5"), "--out", qpath(dir / file.toStdString())});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.startsWith("error: "));
        QCOMPARE(r.err.count('\n'), 1);
        QCOMPARE(r.out, QByteArray());
        QCOMPARE(int(std::distance(fs::directory_iterator(dir), fs::directory_iterator())), 1);  // only garbage.h5
        const CliRun ext = runCli({"report", "--session", qpath(m_session), "--out", qpath(dir / "r.docx")});
        QCOMPARE(ext.exitCode, 1);
        QVERIFY(ext.err.contains("unknown report format"));
    }
};

QTEST_GUILESS_MAIN(TestReportCli)
#include "test_report_cli.moc"

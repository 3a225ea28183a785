// The report's sections about what the runs measured: per-module errors, quality against the
// references, latency and memory, the Pareto set, what changed between two runs, environment.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/quant/plan.h"
#include "core/report/report_internal.h"
#include "core/util/error.h"

namespace qb::core::report_detail {

namespace {

bool hasPlan(const ReportRun& r) { return !r.run->planJson.empty(); }

/// "run 3 vs run 1: ctx 512 vs 128" for every difference of the two runs' protocols in scope.
void addProtocolWarnings(std::vector<std::string>& out, const ReportRun& a, const ReportRun& b, ProtocolScope scope) {
    if (!a.run->protocol || !b.run->protocol) return;
    for (const auto& d : compareProtocols(*a.run->protocol, *b.run->protocol, scope))
        out.push_back(a.label + " vs " + b.label + ": " + d);
}

/// The run quality figures are measured against when a run has no baseline of its own: the
/// FP16 baseline, else the model as loaded, else a CLI eval of the session's own model folder.
const ReportRun* qualityReference(const ReportInput& in) {
    const auto find = [&](auto pred) -> const ReportRun* {
        for (const auto& r : in.runs)
            if (metric(*r.run, "perplexity") && pred(r)) return &r;
        return nullptr;
    };
    if (const auto* r = find([](const ReportRun& r) { return metric(*r.run, "fp16_baseline").value_or(0) != 0; })) return r;
    if (const auto* r = find([](const ReportRun& r) { return metric(*r.run, "baseline").value_or(0) != 0; })) return r;
    const std::filesystem::path model = reportModelFolder(in.session);
    std::error_code ec;
    return find([&](const ReportRun& r) {
        return !hasPlan(r) && !model.empty() && !r.run->modelPath.empty() &&
               std::filesystem::weakly_canonical(r.run->modelPath, ec) == model;
    });
}

}  // namespace

ReportSection moduleErrorSection(const ReportInput& in) {
    std::vector<const ReportRun*> runs;
    for (const auto& r : in.runs)
        if (!r.run->moduleErrors.empty()) runs.push_back(&r);
    if (runs.empty()) return skippedSection("module_errors", "Per-module relative output error", "No run in the report has per-module errors.");
    ReportSection s;
    s.id = "module_errors";
    s.title = "Per-module relative output error";
    std::vector<std::string> names;
    for (const auto& m : moduleShapes(in.session)) names.push_back(m.name);
    std::set<std::string> known(names.begin(), names.end()), extra;
    for (const auto* r : runs)
        for (const auto& [name, e] : r->run->moduleErrors)
            if (!known.count(name)) extra.insert(name);
    names.insert(names.end(), extra.begin(), extra.end());
    std::vector<ReportColumn> cols = {{"module", "module", ""}};
    for (const auto* r : runs) cols.push_back({"run_" + std::to_string(r->number), r->label, ""});
    ReportTable t = makeTable("module_errors", "Relative output error per module", cols);
    for (const auto& name : names) {
        std::vector<ReportCell> row = {name};
        bool any = false;
        for (const auto* r : runs) {
            const auto it = r->run->moduleErrors.find(name);
            // Emplaced by alternative: GCC 12 warns falsely (maybe-uninitialized) on moving a
            // temporary variant built in a conditional expression.
            if (it == r->run->moduleErrors.end()) {
                row.emplace_back(std::monostate{});
            } else {
                row.emplace_back(it->second);
                any = true;
            }
        }
        if (any) t.rows.push_back(std::move(row));
    }
    s.lines.push_back("‖W Xᵀ − Ŵ Xᵀ‖²_F / ‖W Xᵀ‖²_F of each module on the run's calibration inputs.");
    s.plots.push_back("module_errors");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection trainingSection(const ReportInput& in) {
    std::vector<const ReportRun*> runs;
    std::size_t epochs = 0;
    for (const auto& r : in.runs) {
        if (r.run->trainingLoss.empty()) continue;
        runs.push_back(&r);
        for (const auto& [layer, history] : r.run->trainingLoss) epochs = std::max(epochs, history.size());
    }
    if (runs.empty()) return skippedSection("training", "OmniQuant training loss", "No run in the report trained OmniQuant.");
    ReportSection s;
    s.id = "training";
    s.title = "OmniQuant training loss";
    // The first column names the row on its own: a PDF repeats it on each block of a wide table.
    std::vector<ReportColumn> cols = {{"run_layer", "run, layer", ""}, {"run", "run", ""},           {"layer", "layer", ""},
                                      {"epochs", "epochs", ""},        {"first_loss", "first", ""},  {"last_loss", "last", ""},
                                      {"lowest_loss", "lowest", ""},   {"change_percent", "last vs first", "%"}};
    for (std::size_t e = 1; e <= epochs; ++e) cols.push_back({"epoch_" + std::to_string(e), "epoch " + std::to_string(e), ""});
    ReportTable t = makeTable("training_loss", "Block loss per layer and epoch", cols);
    for (const auto* r : runs) {
        for (const auto& [layer, history] : r->run->trainingLoss) {
            std::vector<ReportCell> row = {r->label + ", layer " + std::to_string(layer), r->label, double(layer), double(history.size())};
            if (history.empty()) {
                row.resize(cols.size());
            } else {
                row.emplace_back(history.front());
                row.emplace_back(history.back());
                row.emplace_back(*std::min_element(history.begin(), history.end()));
                row.emplace_back(100.0 * (history.back() / history.front() - 1.0));
                for (std::size_t e = 0; e < epochs; ++e) {
                    if (e < history.size()) row.emplace_back(history[e]);
                    else row.emplace_back(std::monostate{});
                }
            }
            t.rows.push_back(std::move(row));
        }
        s.plots.push_back("training_loss:" + r->id);
    }
    s.lines.push_back(
        "The loss OmniQuant minimises per decoder layer: the MSE between the layer's output with quantized weights (and "
        "activations, where the plan quantizes them) on the quantized model's inputs and the float layer's output on the "
        "float model's inputs, the mean over each epoch's steps. A layer whose loss stays high is where the model breaks.");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection qualitySection(const ReportInput& in) {
    ReportSection s;
    s.id = "quality";
    s.title = "Quality against the references";
    const ReportRun* ref = qualityReference(in);
    ReportTable t = makeTable("quality", "Perplexity, KLD and top-1 agreement",
                              {{"run", "run", ""}, {"title", "what", ""}, {"bits_per_weight", "bits/weight", "bits"},
                               {"perplexity", "perplexity", ""}, {"reference", "against", ""},
                               {"reference_perplexity", "reference perplexity", ""}, {"perplexity_delta_percent", "Δ perplexity", "%"},
                               {"kld_mean", "KLD mean", "nats"}, {"kld_median", "KLD median", "nats"}, {"kld_p90", "KLD p90", "nats"},
                               {"kld_p99", "KLD p99", "nats"}, {"kld_max", "KLD max", "nats"},
                               {"top1_agreement_percent", "top-1 agreement", "%"}, {"delta_p_rms_percent", "RMS Δp", "%"},
                               {"worst_1pct_top1_percent", "top-1 in worst 1 %", "%"}});
    for (const auto& r : in.runs) {
        const RunRecord& run = *r.run;
        const auto ppl = metric(run, "perplexity");
        if (!ppl) continue;
        ReportCell against, refPpl, delta;
        if (const auto own = metric(run, "baseline_perplexity")) {
            const std::string dtype = run.protocol && run.protocol->baselineDtype ? *run.protocol->baselineDtype : "FP";
            against = "its baseline (" + dtype + ", same windows)";
            refPpl = *own;
            delta = cell(metric(run, "perplexity_delta_percent"));
        } else if (ref && ref != &r) {
            against = ref->label;
            const double rp = *metric(*ref->run, "perplexity");
            refPpl = rp;
            delta = 100.0 * (*ppl / rp - 1.0);
            addProtocolWarnings(s.warnings, r, *ref, ProtocolScope::Quality);
        }
        t.rows.push_back({r.label, r.title, cell(metric(run, "bits_per_weight")), *ppl, against, refPpl, delta,
                          cell(metric(run, "kld_mean")), cell(metric(run, "kld_median")), cell(metric(run, "kld_p90")),
                          cell(metric(run, "kld_p99")), cell(metric(run, "kld_max")), cell(metric(run, "top1_agreement_percent")),
                          cell(metric(run, "delta_p_rms_percent")), cell(metric(run, "worst_1pct_top1_percent"))});
    }
    if (t.rows.empty()) return skippedSection(s.id, s.title, "No run in the report was evaluated (eval, or quantize --eval).");
    s.lines.push_back(ref ? "Runs without a baseline of their own are compared with " + ref->title + "."
                          : "The report has no unquantized run to compare against: evaluate the FP model (eval --session) "
                            "or use eval --baseline.");
    s.lines.push_back("KLD is KL(FP‖Q) per token in nats; top-1 agreement is the share of positions where both models "
                      "predict the same token.");
    s.plots.push_back("perplexity");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection latencySection(const ReportInput& in) {
    ReportSection s;
    s.id = "latency";
    s.title = "Latency and memory against FP16";
    const ReportRun* fp16Run = nullptr;
    for (const auto& r : in.runs)
        if (metric(*r.run, "fp16_baseline").value_or(0) != 0 && metric(*r.run, "decode_ms_per_token")) fp16Run = &r;
    ReportTable t = makeTable("latency", "Decode latency, prefill throughput and memory",
                              {{"run", "run", ""}, {"title", "what", ""}, {"decode_ms_per_token", "decode", "ms/token"},
                               {"fp16_decode_ms_per_token", "FP16 decode", "ms/token"}, {"decode_speedup", "decode speed-up", "×"},
                               {"prefill_tokens_per_second", "prefill", "tokens/s"},
                               {"fp16_prefill_tokens_per_second", "FP16 prefill", "tokens/s"}, {"prefill_speedup", "prefill speed-up", "×"},
                               {"weight_bytes", "weights", "bytes"}, {"fp16_weight_bytes", "FP16 weights", "bytes"},
                               {"peak_rss_bytes", "peak RSS", "bytes"}, {"fp16_peak_rss_bytes", "FP16 peak RSS", "bytes"},
                               {"kernels", "CPU features; kernels", ""}, {"backend", "backend", ""}});
    const ReportRun* first = nullptr;
    for (const auto& r : in.runs) {
        const RunRecord& run = *r.run;
        const auto decode = metric(run, "decode_ms_per_token");
        if (!decode) continue;
        const auto prefill = metric(run, "prefill_tokens_per_second");
        auto fpDecode = metric(run, "fp16_decode_ms_per_token"), fpPrefill = metric(run, "fp16_prefill_tokens_per_second");
        if (!fpDecode && fp16Run && fp16Run != &r) {
            fpDecode = metric(*fp16Run->run, "decode_ms_per_token");
            fpPrefill = metric(*fp16Run->run, "prefill_tokens_per_second");
            addProtocolWarnings(s.warnings, r, *fp16Run, ProtocolScope::Latency);
        }
        const std::optional<double> decodeUp = fpDecode && *decode > 0 ? std::optional<double>(*fpDecode / *decode) : std::nullopt;
        const std::optional<double> prefillUp =
            fpPrefill && prefill && *fpPrefill > 0 ? std::optional<double>(*prefill / *fpPrefill) : std::nullopt;
        const EnvironmentProtocol* env = run.protocol ? &run.protocol->environment : nullptr;
        t.rows.push_back({r.label, r.title, *decode, cell(fpDecode), cell(decodeUp), cell(prefill), cell(fpPrefill),
                          cell(prefillUp), cell(metric(run, "weight_bytes")), cell(metric(run, "fp16_weight_bytes")),
                          cell(metric(run, "peak_rss_bytes")), cell(metric(run, "fp16_peak_rss_bytes")),
                          env ? textCell(env->isa) : ReportCell(), env ? textCell(env->backend) : ReportCell()});
        if (first) addProtocolWarnings(s.warnings, r, *first, ProtocolScope::Latency);
        else first = &r;
    }
    if (t.rows.empty()) return skippedSection(s.id, s.title, "No run in the report was benchmarked (bench --session).");
    s.lines.push_back("Decode: median step of greedy KV-cache decoding; prefill: prompt tokens per second (median of the "
                      "repeats). A speed-up above 1 is faster than FP16, measured in the same bench run.");
    s.plots.push_back("latency");
    s.plots.push_back("prefill");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection paretoSection(const ReportInput& in) {
    ReportSection s;
    s.id = "pareto";
    s.title = "Size against perplexity (Pareto)";
    std::vector<const ReportRun*> runs;
    for (const auto& r : in.runs)
        if (metric(*r.run, "perplexity") && metric(*r.run, "bits_per_weight").value_or(0) > 0) runs.push_back(&r);
    if (runs.empty()) return skippedSection(s.id, s.title, "No run in the report has both a size and a perplexity.");
    ReportTable t = makeTable("pareto", "Bits per weight against perplexity",
                              {{"run", "run", ""}, {"bits_per_weight", "bits/weight", "bits"}, {"perplexity", "perplexity", ""},
                               {"on_frontier", "on the frontier", ""}});
    for (const auto* r : runs) {
        const double b = *metric(*r->run, "bits_per_weight"), p = *metric(*r->run, "perplexity");
        const bool dominated = std::any_of(runs.begin(), runs.end(), [&](const ReportRun* o) {
            const double ob = *metric(*o->run, "bits_per_weight"), op = *metric(*o->run, "perplexity");
            return o != r && ob <= b && op <= p && (ob < b || op < p);
        });
        t.rows.push_back({r->label, b, p, dominated ? "no" : "yes"});
        if (r != runs.front()) addProtocolWarnings(s.warnings, *r, *runs.front(), ProtocolScope::Quality);
    }
    s.lines.push_back("A run is on the frontier when no other run has both fewer bits per weight and a lower perplexity.");
    s.plots.push_back("pareto");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection changesSection(const ReportInput& in) {
    ReportSection s;
    s.id = "changes";
    s.title = "What changed between two runs";
    const ReportRun *a = nullptr, *b = nullptr;
    if (in.options.compare) {
        for (const auto& r : in.runs) {
            if (r.number == in.options.compare->first) a = &r;
            if (r.number == in.options.compare->second) b = &r;
        }
    } else {
        std::vector<const ReportRun*> planned;
        for (const auto& r : in.runs)
            if (hasPlan(r)) planned.push_back(&r);
        if (planned.size() < 2)
            for (const auto& r : in.runs) planned.push_back(&r);
        if (planned.size() >= 2) a = planned[planned.size() - 2], b = planned.back();
    }
    if (!a || !b || a == b) return skippedSection(s.id, s.title, "The report has fewer than two runs to compare.");
    ReportTable t = makeTable("changes", a->label + " → " + b->label,
                              {{"item", "item", ""}, {"a", a->label, ""}, {"b", b->label, ""}, {"change", "change", ""},
                               {"change_percent", "change %", ""}});
    t.rows.push_back({"what", a->title, b->title, ReportCell(), ReportCell()});
    std::set<std::string> keys;
    for (const auto* r : {a, b})
        for (const auto& [k, v] : r->run->metrics)
            if (k != "run_number") keys.insert(k);
    for (const auto& k : keys) {
        const auto va = metric(*a->run, k), vb = metric(*b->run, k);
        ReportCell change, pct;
        if (va && vb) {
            change = *vb - *va;
            if (*va != 0) pct = 100.0 * (*vb / *va - 1.0);
        }
        t.rows.push_back({k, cell(va), cell(vb), change, pct});
    }
    if (hasPlan(*a) && hasPlan(*b)) {
        try {
            const QuantPlan pa = QuantPlan::fromJsonText(a->run->planJson, a->id), pb = QuantPlan::fromJsonText(b->run->planJson, b->id);
            for (const auto& m : moduleShapes(in.session)) {
                const std::string la = pa.resolve(m.name).label(), lb = pb.resolve(m.name).label();
                if (la != lb) t.rows.push_back({"scheme " + m.name, la, lb, ReportCell(), ReportCell()});
            }
        } catch (const Error& e) {
            s.warnings.push_back(std::string("a plan does not parse: ") + e.what());
        }
    }
    addProtocolWarnings(s.warnings, *a, *b, ProtocolScope::All);
    s.lines.push_back("Every stored metric of both runs, and the modules whose scheme differs.");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection environmentSection(const ReportInput& in) {
    ReportSection s;
    s.id = "environment";
    s.title = "Environment";
    ReportTable t = makeTable("environment", "Where each run was measured",
                              {{"run", "run", ""}, {"threads", "threads", ""}, {"cpu", "CPU", ""}, {"isa", "CPU features; kernels", ""},
                               {"backend", "backend", ""}, {"quantbench_version", "quantbench", ""}, {"git_commit", "commit", ""}});
    for (const auto& r : in.runs) {
        if (!r.run->protocol) continue;
        const EnvironmentProtocol& e = r.run->protocol->environment;
        t.rows.push_back({r.label, double(e.threads), textCell(e.cpu), textCell(e.isa), textCell(e.backend),
                          textCell(e.quantbenchVersion), textCell(e.gitCommit)});
    }
    if (t.rows.empty()) return skippedSection(s.id, s.title, "No run in the report records its environment.");
    s.lines.push_back(std::string("Report written by quantbench ") + QB_VERSION + ".");
    s.tables.push_back(std::move(t));
    return s;
}

}  // namespace qb::core::report_detail

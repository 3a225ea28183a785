// The report's sections about the model and its statistics: model, data and protocol, plans,
// outliers, sensitivity.
#include <algorithm>
#include <cmath>
#include <map>

#include "core/io/checkpoint.h"
#include "core/model/decoder_layer.h"
#include "core/quant/method_registry.h"
#include "core/quant/plan.h"
#include "core/quant/scheme_size.h"
#include "core/report/report_internal.h"
#include "core/stats/module_stats.h"
#include "core/util/error.h"

namespace qb::core::report_detail {

namespace {

namespace fs = std::filesystem;

std::shared_ptr<const Checkpoint> openModel(const SessionData& session) {
    const fs::path dir = reportModelFolder(session);
    if (dir.empty()) return nullptr;
    try {
        return Checkpoint::open(dir);
    } catch (const Error&) {
        return nullptr;
    }
}

void addProperty(ReportTable& t, const std::string& key, ReportCell value) {
    t.rows.push_back({ReportCell(key), std::move(value)});
}

/// The bits a scheme stores per weight code (fp16: 16; the int8 methods: 8).
int schemeBits(const QuantScheme& s) {
    switch (s.method) {
        case QuantMethod::Fp16: return 16;
        case QuantMethod::W8A8:
        case QuantMethod::SmoothQuant:
        case QuantMethod::LlmInt8: return 8;
        default: return s.grid.bits;
    }
}

bool isGrid(const QuantScheme& s) { return methodInfo(s.method).weightOnly; }

}  // namespace

std::vector<ModuleShape> moduleShapes(const SessionData& session) {
    std::vector<ModuleShape> out;
    for (const auto& m : session.modules) out.push_back({m.name, m.outFeatures, m.inFeatures});
    if (!out.empty()) return out;
    const auto ckpt = openModel(session);
    if (!ckpt) return out;
    const ModelConfig& c = ckpt->config();
    const Index h = c.hiddenSize, i = c.intermediateSize, q = Index(c.numHeads) * c.headDim, kv = Index(c.numKvHeads) * c.headDim;
    for (int layer = 0; layer < c.numLayers; ++layer)
        for (const ModuleKind kind : kAllModuleKinds) {
            Index o = 0, n = 0;
            switch (kind) {
                case ModuleKind::Q: o = q, n = h; break;
                case ModuleKind::K:
                case ModuleKind::V: o = kv, n = h; break;
                case ModuleKind::O: o = h, n = q; break;
                case ModuleKind::Gate:
                case ModuleKind::Up: o = i, n = h; break;
                case ModuleKind::Down: o = h, n = i; break;
            }
            out.push_back({moduleName(layer, kind), o, n});
        }
    return out;
}

std::filesystem::path reportModelFolder(const SessionData& session) {
    // inspect stores the folder as the user gave it (often relative to where it ran); CLI eval
    // runs of that model store it absolute.
    const fs::path given = session.provenance.modelPath;
    std::vector<fs::path> candidates = {given};
    for (const auto& r : session.runs)
        if (r.planJson.empty() && r.command == "eval" && !given.empty() && fs::path(r.modelPath).filename() == given.filename())
            candidates.push_back(r.modelPath);
    std::error_code ec;
    for (const auto& c : candidates)
        if (!c.empty() && fs::is_regular_file(c / "config.json", ec)) return fs::weakly_canonical(c, ec);
    return {};
}

}  // namespace qb::core::report_detail

namespace qb::core {
std::vector<std::string> reportModuleNames(const SessionData& session) {
    std::vector<std::string> names;
    for (const auto& m : report_detail::moduleShapes(session)) names.push_back(m.name);
    return names;
}
}  // namespace qb::core

namespace qb::core::report_detail {

ReportSection modelSection(const ReportInput& in, std::string& modelName) {
    const SessionProvenance& p = in.session.provenance;
    ReportSection s;
    s.id = "model";
    s.title = "Model";
    modelName = fs::path(p.modelPath).filename().string();
    if (modelName.empty()) modelName = fs::path(p.modelPath).parent_path().filename().string();
    if (modelName.empty()) modelName = "unknown model";
    ReportTable t = makeTable("model", "Model", {{"property", "property", ""}, {"value", "value", ""}});
    addProperty(t, "session_file", in.sessionFile.string());
    addProperty(t, "model_folder", textCell(p.modelPath));
    if (const auto ckpt = openModel(in.session)) {
        const ModelConfig& c = ckpt->config();
        std::uint64_t params = 0;
        std::map<std::string, std::uint64_t> dtypes;
        for (const auto* tensor : ckpt->tensors()) {
            params += std::uint64_t(tensor->numel());
            dtypes[dtypeName(tensor->dtype)] += std::uint64_t(tensor->numel());
        }
        std::string dt;
        for (const auto& [name, n] : dtypes) dt += (dt.empty() ? "" : ", ") + name + " " + std::to_string(n);
        addProperty(t, "architecture", c.architectureName);
        addProperty(t, "layers", double(c.numLayers));
        addProperty(t, "hidden_size", double(c.hiddenSize));
        addProperty(t, "intermediate_size", double(c.intermediateSize));
        addProperty(t, "attention_heads", double(c.numHeads));
        addProperty(t, "kv_heads", double(c.numKvHeads));
        addProperty(t, "vocab_size", double(c.vocabSize));
        addProperty(t, "parameters", double(params));
        addProperty(t, "dtypes", dt);
    } else {
        s.lines.push_back("The model folder '" + p.modelPath +
                          "' is not there (or not a checkpoint): architecture and parameters are not known.");
    }
    addProperty(t, "config_sha256", textCell(p.configSha256));
    addProperty(t, "session_created_utc", textCell(p.createdUtc));
    addProperty(t, "session_quantbench_version", textCell(p.quantbenchVersion));
    s.tables.push_back(std::move(t));
    ReportTable files = makeTable("weight_files", "Weight files", {{"file", "file", ""}, {"header_sha256", "header SHA-256", ""}});
    for (const auto& h : p.safetensorsHeaders) files.rows.push_back({h.file, h.sha256});
    if (files.rows.empty()) s.lines.push_back("The session stores no weight file hashes.");
    else
        s.lines.push_back("The session stores the SHA-256 of each weight file's JSON header (tensor names, dtypes, shapes "
                          "and offsets), not of the whole file's bytes.");
    s.tables.push_back(std::move(files));
    return s;
}

ReportSection protocolSection(const ReportInput& in) {
    ReportSection s;
    s.id = "protocol";
    s.title = "Data and protocol";
    const SessionProvenance& p = in.session.provenance;
    if (!in.session.modules.empty())
        s.lines.push_back("Statistics (outliers, sensitivity): calibration text sha256 " + shortSha(p.calibrationSha256) + ", " +
                          std::to_string(p.calibrationWindows) + " windows × " + std::to_string(p.calibrationCtx) +
                          " tokens, seed " + std::to_string(p.calibrationSeed) + ".");
    ReportTable t = makeTable("protocols", "Protocol of each run",
                              {{"run", "run", ""}, {"eval_text", "eval text", ""}, {"eval_sha256", "eval SHA-256", ""},
                               {"eval_ctx", "ctx", "tokens"}, {"eval_windows", "windows", ""}, {"eval_stride", "stride", "tokens"},
                               {"eval_bos", "BOS", ""}, {"baseline_dtype", "baseline dtype", ""},
                               {"calibration_text", "calibration text", ""}, {"calibration_sha256", "calibration SHA-256", ""},
                               {"calibration_windows", "calib. windows", ""}, {"calibration_ctx", "calib. ctx", "tokens"},
                               {"calibration_seed", "seed", ""}, {"bench_prompt_tokens", "bench prompt", "tokens"},
                               {"bench_gen_tokens", "bench generated", "tokens"}, {"bench_prefill_repeats", "prefill repeats", ""}});
    for (const auto& r : in.runs) {
        std::vector<ReportCell> row(t.columns.size());
        row[0] = r.label;
        if (!r.run->protocol) {
            s.lines.push_back(r.label + " has no stored protocol (a workbench run, or a session written before protocols).");
            t.rows.push_back(std::move(row));
            continue;
        }
        const Protocol& pr = *r.run->protocol;
        if (pr.eval) {
            row[1] = pr.eval->text, row[2] = pr.eval->sha256, row[3] = double(pr.eval->ctx);
            row[4] = double(pr.eval->windows), row[5] = double(pr.eval->stride), row[6] = pr.eval->bos;
        }
        if (pr.baselineDtype) row[7] = *pr.baselineDtype;
        if (pr.calibration) {
            row[8] = pr.calibration->text, row[9] = pr.calibration->sha256, row[10] = double(pr.calibration->windows);
            row[11] = double(pr.calibration->ctx), row[12] = double(pr.calibration->seed);
        }
        if (pr.bench) {
            row[13] = double(pr.bench->promptTokens), row[14] = double(pr.bench->genTokens);
            row[15] = double(pr.bench->prefillRepeats);
        }
        t.rows.push_back(std::move(row));
    }
    if (t.rows.empty()) return skippedSection(s.id, s.title, "The session has no runs: no protocol to show.");
    s.tables.push_back(std::move(t));
    return s;
}

ReportSection planSection(const ReportInput& in) {
    ReportSection s;
    s.id = "plan";
    s.title = "Plan";
    const std::vector<ModuleShape> shapes = moduleShapes(in.session);
    const bool sized = !shapes.empty();  // sizes from core's one formula (schemeBytes), as the plan view's
    ReportTable sum = makeTable("plan_summary", "Plans: effective bits per weight and size",
                                {{"run", "run", ""}, {"default_scheme", "default scheme", ""}, {"rules", "rules", ""},
                                 {"modules", "modules", ""}, {"bits_per_weight", "bits/weight (plan)", "bits"},
                                 {"bytes", "size (plan)", "bytes"}, {"measured_bits_per_weight", "bits/weight (run)", "bits"},
                                 {"measured_bytes", "size (run)", "bytes"}});
    ReportTable mods = makeTable("plan_modules", "Plan per module",
                                 {{"run", "run", ""}, {"module", "module", ""}, {"method", "method", ""}, {"bits", "bits", ""},
                                  {"group_size", "group", ""}, {"sym", "sym", ""}, {"bytes", "size", "bytes"},
                                  {"bits_per_weight", "bits/weight", "bits"}});
    for (const auto& r : in.runs) {
        if (r.run->planJson.empty()) continue;
        QuantPlan plan;
        try {
            plan = QuantPlan::fromJsonText(r.run->planJson, r.id);
        } catch (const Error& e) {
            s.warnings.push_back(r.label + ": its plan does not parse: " + e.what());
            continue;
        }
        std::uint64_t bytes = 0, weights = 0;
        for (const auto& m : shapes) {
            const QuantScheme sc = plan.resolve(m.name);
            std::optional<double> b;
            if (sized) {
                const std::uint64_t mb = schemeBytes(sc, m.out, m.in);
                bytes += mb, weights += std::uint64_t(m.out) * std::uint64_t(m.in);
                b = double(mb);
            }
            const double w = double(m.out) * double(m.in);
            ReportCell group = isGrid(sc) ? (sc.grid.groupSize ? ReportCell(double(*sc.grid.groupSize)) : ReportCell("row"))
                                          : ReportCell();
            mods.rows.push_back({r.label, m.name, methodName(sc.method), double(schemeBits(sc)), group,
                                 isGrid(sc) ? ReportCell(sc.grid.sym ? "yes" : "no") : ReportCell(), cell(b),
                                 b ? ReportCell(8.0 * *b / w) : ReportCell()});
        }
        sum.rows.push_back({r.label, plan.defaultScheme.label(), double(plan.rules.size()), double(shapes.size()),
                            weights ? ReportCell(8.0 * double(bytes) / double(weights)) : ReportCell(),
                            sized ? ReportCell(double(bytes)) : ReportCell(), cell(metric(*r.run, "bits_per_weight")),
                            cell(metric(*r.run, "bytes"))});
    }
    if (sum.rows.empty()) return skippedSection(s.id, s.title, "No run in the report has a quantization plan.");
    if (shapes.empty())
        s.lines.push_back("The module shapes are not known (no statistics in the session and no model folder): "
                          "the per-module table lists no modules.");
    s.lines.push_back("Sizes use the plan view's storage formula: packed integer codes, zero points, F16 scales and "
                      "g_idx for grid methods; 2 bytes per weight for fp16; 1 byte per weight plus an F16 scale per row for "
                      "the int8 methods. “run” columns are what the run measured on the quantized model.");
    s.tables.push_back(std::move(sum));
    if (!mods.rows.empty()) s.tables.push_back(std::move(mods));
    return s;
}

ReportSection outlierSection(const ReportInput& in) {
    const std::string title = "Outliers";
    std::vector<const ModuleStats*> mods;
    for (const auto& m : in.session.modules)
        if (m.activation) mods.push_back(&m);
    if (mods.empty())
        return skippedSection("outliers", title, "The session has no activation statistics (run inspect to add them).");
    ReportSection s;
    s.id = "outliers";
    s.title = title;
    ReportTable all = makeTable("outlier_overview", "Every module (the overview heatmap's values)",
                                {{"module", "module", ""}, {"outlier_ratio", "outlier ratio", "×"}, {"max_abs", "max |x|", ""},
                                 {"median_absmax", "median channel max |x|", ""}, {"outlier_channels", "outlier channels", ""},
                                 {"weight_kurtosis", "weight kurtosis", ""}});
    for (const auto* m : mods)
        all.rows.push_back({m->name, outlierRatio(*m->activation), m->activation->absmax.size() ? m->activation->absmax.maxCoeff() : 0.0,
                            m->activation->medianAbsmax, double(m->activation->outliers.size()), m->weight.excessKurtosis});
    std::vector<const ModuleStats*> ranked = mods;
    std::stable_sort(ranked.begin(), ranked.end(), [](const ModuleStats* a, const ModuleStats* b) {
        return outlierRatio(*a->activation) > outlierRatio(*b->activation);
    });
    if (int(ranked.size()) > in.options.topModules) ranked.resize(std::size_t(in.options.topModules));
    ReportTable top = makeTable("outlier_top_modules", "Top outlier modules",
                                {{"rank", "rank", ""}, {"module", "module", ""}, {"outlier_ratio", "outlier ratio", "×"},
                                 {"top_channels", "top channels (max |x|)", ""}, {"worst", "worst statistic", ""}});
    for (std::size_t i = 0; i < ranked.size(); ++i) {
        const ModuleStats& m = *ranked[i];
        std::string channels;
        for (std::size_t k = 0; k < std::min<std::size_t>(5, m.activation->outliers.size()); ++k)
            channels += (k ? ", " : "") + std::to_string(m.activation->outliers[k].index) + " (" +
                        readableNumberText(m.activation->outliers[k].absmax) + ")";
        top.rows.push_back({double(i + 1), m.name, outlierRatio(*m.activation), textCell(channels), worstStatistic(m).text});
        if (i < 3) s.plots.push_back("outlier_channels:" + m.name);
    }
    s.plots.insert(s.plots.begin(), "overview");
    s.lines.push_back("Outlier ratio: the largest input channel's max |x| over the median channel's. Channels are flagged by "
                      "the LLM.int8() rule (|x| ≥ 6) or the relative rule (≥ 20 × the median).");
    s.tables.push_back(std::move(top));
    s.tables.push_back(std::move(all));
    return s;
}

ReportSection sensitivitySection(const ReportInput& in) {
    const std::string title = "Sensitivity";
    std::vector<const ModuleStats*> mods;
    for (const auto& m : in.session.modules)
        if (!m.sensitivity.entries.empty()) mods.push_back(&m);
    if (mods.empty()) return skippedSection("sensitivity", title, "The session has no sensitivity (run inspect without --no-sensitivity).");
    // Rank by RTN w4 g128, else the first 4-bit form, else the first form.
    const auto& entries = mods.front()->sensitivity.entries;
    std::size_t key = 0;
    for (std::size_t i = entries.size(); i-- > 0;)
        if (entries[i].bits == 4) key = i;
    for (std::size_t i = 0; i < entries.size(); ++i)
        if (entries[i].bits == 4 && entries[i].groupSize == 128) key = i;
    const auto errorOf = [&](const ModuleStats* m, std::size_t i) -> std::optional<double> {
        const auto* e = m->sensitivity.find(entries[i].bits, entries[i].groupSize);
        return e ? e->relativeError : std::nullopt;
    };
    std::vector<const ModuleStats*> ranked = mods;
    std::stable_sort(ranked.begin(), ranked.end(), [&](const ModuleStats* a, const ModuleStats* b) {
        return errorOf(a, key).value_or(-1) > errorOf(b, key).value_or(-1);
    });
    ReportSection s;
    s.id = "sensitivity";
    s.title = title;
    std::vector<ReportColumn> cols = {{"rank", "rank", ""}, {"module", "module", ""}};
    for (const auto& e : entries)
        cols.push_back({"rtn_" + sensitivityKey(e.bits, e.groupSize), "RTN " + sensitivityLabel(e.bits, e.groupSize), ""});
    ReportTable t = makeTable("sensitivity", "Modules ranked by RTN " + sensitivityLabel(entries[key].bits, entries[key].groupSize) +
                                                 " relative output error", cols);
    for (std::size_t r = 0; r < ranked.size(); ++r) {
        std::vector<ReportCell> row = {double(r + 1), ranked[r]->name};
        for (std::size_t i = 0; i < entries.size(); ++i) row.push_back(cell(errorOf(ranked[r], i)));
        t.rows.push_back(std::move(row));
    }
    s.lines.push_back("e = ‖W Xᵀ − Q(W) Xᵀ‖²_F / ‖W Xᵀ‖²_F on the calibration inputs, Q = round-to-nearest min-max per group; "
                      "higher means the module loses more when quantized that way.");
    s.tables.push_back(std::move(t));
    return s;
}

}  // namespace qb::core::report_detail

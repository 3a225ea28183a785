#include "core/export/export_summary.h"

#include <cstdio>
#include <sstream>

#include "core/export/gguf_writer.h"
#include "core/export/hf_export.h"
#include "core/export/hf_export_util.h"
#include "core/io/checkpoint.h"
#include "core/util/error.h"

namespace qb::core {

namespace {

ExportSummary summarizeGguf(const LlamaModel& model, const std::filesystem::path& modelDir, GgmlType type,
                            std::optional<GgmlType> outputType) {
    GgufExportOptions options;
    options.type = type;
    options.outputType = outputType;
    const GgufExportReport r = planGgufExport(model, modelDir, options);
    ExportSummary s;
    s.format = "gguf";
    s.variant = ggmlTypeName(type);
    s.expectedBytes = r.fileBytes;
    s.exactSize = true;
    s.warnings = r.warnings;
    for (const auto& t : r.tensors) {
        if (t.ne.size() < 2) continue;  // norms, biases, rope_freqs: F32 vectors
        ExportSummaryRow row{t.name, t.source.empty() ? "float" : t.source, ggmlTypeName(t.type), {}, {}, t.bytes};
        if (t.codesPlaced) row.how = "codes placed";
        else if (!t.source.empty() && isQuantizedGgmlType(t.type)) row.how = "re-quantized", row.reason = ggmlTypeName(t.type) + " does not hold " + t.source;
        else if (!t.source.empty() && t.type == GgmlType::F16) row.how = "kept F16", row.reason = t.note;
        else row.how = "converted", row.reason = t.note;
        s.rows.push_back(std::move(row));
    }
    return s;
}

std::uint64_t blobBytes(const std::vector<TensorBlob>& blobs) {
    std::uint64_t n = 0;
    for (const auto& b : blobs) n += b.bytes.size();
    return n;
}

// The tensors writeHfFolder adds around the modules: the embedding (and an untied head) in the
// source's dtype, the norms in F32; and the tokenizer files it copies.
std::uint64_t hfFixedBytes(const LlamaModel& model, const std::filesystem::path& modelDir) {
    const ModelConfig& c = model.config();
    const std::uint64_t elem = sourceEmbeddingDtype(modelDir) == DType::F32 ? 4 : 2;
    const std::uint64_t table = std::uint64_t(c.vocabSize) * std::uint64_t(c.hiddenSize) * elem;
    std::uint64_t n = table * (c.tieWordEmbeddings ? 1 : 2) + std::uint64_t(c.hiddenSize) * 4;
    const auto L = model.layer(0);
    const std::uint64_t norms = std::uint64_t(L->inputNorm.size() + L->postAttentionNorm.size() + L->qNorm.size() + L->kNorm.size()) * 4;
    n += norms * std::uint64_t(c.numLayers);
    for (const char* f : {"tokenizer.model", "tokenizer_config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json"})
        if (std::filesystem::exists(modelDir / f)) n += std::filesystem::file_size(modelDir / f);
    return n;
}

ExportSummary summarizeHf(const LlamaModel& model, const std::filesystem::path& modelDir, HfExportFormat format,
                          const std::optional<GptqZeroFormat>& zeros) {
    HfExportOptions options;
    options.format = format;
    options.gptqZeros = zeros;
    const HfFolderPlan plan = planHfExport(model, options);
    ExportSummary s;
    s.format = hfExportFormatName(format);
    s.variant = plan.report.variant;
    s.warnings = plan.report.warnings;
    s.expectedBytes = hfFixedBytes(model, modelDir);
    const auto modules = linearModules(model);
    for (std::size_t i = 0; i < modules.size() && i < plan.report.modules.size(); ++i) {
        const auto& [name, linear] = modules[i];
        const HfExportModule& m = plan.report.modules[i];
        // The module's bytes are those of the tensors the writer will store (packed here once).
        const std::uint64_t bytes = blobBytes(plan.moduleTensors(name, *linear));
        const std::string f = linear->format();
        const bool quantized = f != "f32" && f != "f16" && f != "bf16";
        const bool dequantizing = format == HfExportFormat::Float16 || format == HfExportFormat::BFloat16;
        const std::string how = !m.note.empty() ? "kept F16" : !quantized ? "converted" : dequantizing ? "dequantized" : "packed";
        s.rows.push_back({name, linear->format(), m.storage, how, m.note, bytes});
        s.expectedBytes += bytes;
    }
    return s;
}

}  // namespace

const std::vector<std::string>& exportFormatNames() {
    static const std::vector<std::string> names{"gguf", "gptq", "awq", "compressed-tensors", "f16", "bf16"};
    return names;
}

std::string exportFormatList() {
    const auto& names = exportFormatNames();
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
}

int ExportSummary::keptF16() const {
    int n = 0;
    for (const auto& r : rows) n += r.how == "kept F16";
    return n;
}
int ExportSummary::codesPlaced() const {
    int n = 0;
    for (const auto& r : rows) n += r.how == "codes placed";
    return n;
}
int ExportSummary::requantized() const {
    int n = 0;
    for (const auto& r : rows) n += r.how == "re-quantized";
    return n;
}

ExportSummary summarizeExport(const LlamaModel& model, const std::filesystem::path& modelDir, const ExportTarget& target) {
    if (target.format == "gguf") return summarizeGguf(model, modelDir, target.ggufType, target.ggufOutputType);
    const auto hf = parseHfExportFormat(target.format);
    if (!hf) throw Error("format " + target.format + ": use " + exportFormatList());
    return summarizeHf(model, modelDir, *hf, target.gptqZeros);
}

std::string exportSummaryText(const ExportSummary& s) {
    std::ostringstream out;
    char line[512];
    std::snprintf(line, sizeof line, "%-34s %-18s %-26s %-13s %10s  %s\n", "module", "checkpoint", "file", "how", "bytes", "reason");
    out << line;
    for (const auto& r : s.rows) {
        std::snprintf(line, sizeof line, "%-34s %-18s %-26s %-13s %10llu  %s\n", r.module.c_str(), r.source.c_str(), r.target.c_str(),
                      r.how.c_str(), static_cast<unsigned long long>(r.bytes), r.reason.c_str());
        out << line;
    }
    std::snprintf(line, sizeof line, "summary         %s (%s): %zu matrices, %d codes placed, %d re-quantized, %d kept F16; expected %s%llu bytes\n",
                  s.format.c_str(), s.variant.c_str(), s.rows.size(), s.codesPlaced(), s.requantized(), s.keptF16(),
                  s.exactSize ? "" : "about ", static_cast<unsigned long long>(s.expectedBytes));
    out << line;
    return out.str();
}

}  // namespace qb::core

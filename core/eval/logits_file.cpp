#include "core/eval/logits_file.h"

#include <charconv>
#include <map>

#include "core/util/error.h"

namespace qb::core {

namespace {

constexpr const char* kFormat = "quantbench-logits";

std::map<std::string, std::string> metadataOf(const LogitsFileHeader& h) {
    return {{"format", kFormat},
            {"model", h.model},
            {"text", h.text},
            {"text_sha256", h.textSha256},
            {"ctx", std::to_string(h.ctx)},
            {"windows", std::to_string(h.windows)},
            {"bos", h.bos ? "per document" : "none"}};
}

std::vector<TensorDecl> tensorsOf(const LogitsFileHeader& h) {
    const std::int64_t W = h.windows, T = h.ctx, V = h.vocab;
    return {{"tokens", DType::I32, {W, T}}, {"logits", DType::F32, {W, T, V}}};
}

// A positive int from metadata key, or Error naming the file.
int positiveIntField(const std::map<std::string, std::string>& meta, const std::string& key, const std::string& file) {
    const auto it = meta.find(key);
    if (it == meta.end()) throw Error(file + ": the metadata has no '" + key + "'");
    int value = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || value < 1)
        throw Error(file + ": metadata '" + key + "' is '" + it->second + "', not a positive integer");
    return value;
}

std::string shortHash(const std::string& hex) { return hex.size() > 12 ? hex.substr(0, 12) + "…" : hex; }

}  // namespace

std::shared_ptr<const LogitsFile> LogitsFile::open(const std::filesystem::path& path) {
    std::shared_ptr<LogitsFile> f(new LogitsFile);
    f->m_file = SafetensorsFile::open(path);
    const std::string name = path.string();
    const auto& meta = f->m_file->metadata();
    const auto format = meta.find("format");
    if (format == meta.end() || format->second != kFormat)
        throw Error(name + ": not a logits file of eval --save-logits (no format '" + kFormat + "' in its metadata)");
    auto& h = f->m_header;
    h.ctx = positiveIntField(meta, "ctx", name);
    h.windows = positiveIntField(meta, "windows", name);
    const auto field = [&](const char* key) {
        const auto it = meta.find(key);
        if (it == meta.end()) throw Error(name + ": the metadata has no '" + key + "'");
        return it->second;
    };
    h.model = field("model");
    h.text = field("text");
    h.textSha256 = field("text_sha256");
    h.bos = field("bos") == "per document";

    f->m_tokens = f->m_file->find("tokens");
    f->m_logits = f->m_file->find("logits");
    if (!f->m_tokens || !f->m_logits) throw Error(name + ": a logits file holds the tensors 'tokens' and 'logits'");
    const std::int64_t W = h.windows, T = h.ctx;
    if (f->m_tokens->dtype != DType::I32 || f->m_tokens->shape != std::vector<std::int64_t>{W, T})
        throw Error(name + ": 'tokens' is " + dtypeName(f->m_tokens->dtype) + " " + f->m_tokens->shapeString() +
                    ", the metadata says I32 [" + std::to_string(W) + ", " + std::to_string(T) + "]");
    const auto& ls = f->m_logits->shape;
    if (f->m_logits->dtype != DType::F32 || ls.size() != 3 || ls[0] != W || ls[1] != T || ls[2] < 1)
        throw Error(name + ": 'logits' is " + dtypeName(f->m_logits->dtype) + " " + f->m_logits->shapeString() +
                    ", the metadata says F32 [" + std::to_string(W) + ", " + std::to_string(T) + ", vocab]");
    h.vocab = Index(ls[2]);
    return f;
}

std::span<const std::int32_t> LogitsFile::tokens(int w) const {
    const auto* ids = reinterpret_cast<const std::int32_t*>(m_tokens->data);
    return {ids + std::size_t(w) * std::size_t(ctx()), std::size_t(ctx())};
}

Eigen::Map<const MatrixRM> LogitsFile::logits(int w) const {
    const auto* all = reinterpret_cast<const float*>(m_logits->data);
    return {all + std::size_t(w) * std::size_t(ctx()) * std::size_t(vocab()), ctx(), vocab()};
}

void LogitsFile::release(int w) const {
    const std::size_t window = std::size_t(ctx()) * std::size_t(vocab()) * sizeof(float);
    m_file->release(*m_logits, std::size_t(w) * window, std::size_t(w + 1) * window);
}

void LogitsFile::checkMatches(const std::vector<int>& stream, int ctx, int windows, const std::string& textSha256,
                              Index vocab) const {
    const std::string name = path().string();
    // From the coarsest difference to the finest: a changed ctx or text also changes every token.
    if (ctx != m_header.ctx)
        throw Error(name + ": made with ctx " + std::to_string(m_header.ctx) + ", this run uses " + std::to_string(ctx));
    if (textSha256 != m_header.textSha256)
        throw Error(name + ": made on another text (" + std::filesystem::path(m_header.text).filename().string() +
                    ", sha256 " + shortHash(m_header.textSha256) + "), this run's text has " + shortHash(textSha256));
    if (windows != m_header.windows)
        throw Error(name + ": made with " + std::to_string(m_header.windows) + " windows, this run uses " +
                    std::to_string(windows));
    if (vocab != m_header.vocab)
        throw Error(name + ": holds logits over " + std::to_string(m_header.vocab) + " tokens, the model's vocabulary has " +
                    std::to_string(vocab));
    if (stream.size() < std::size_t(windows) * std::size_t(ctx))
        throw Error(name + ": made with " + std::to_string(windows) + " windows of " + std::to_string(ctx) +
                    " tokens, this run's text holds " + std::to_string(stream.size()) + " tokens");
    for (int w = 0; w < windows; ++w) {
        const auto ids = tokens(w);
        for (int t = 0; t < ctx; ++t)
            if (ids[std::size_t(t)] != stream[std::size_t(w) * std::size_t(ctx) + std::size_t(t)])
                throw Error(name + ": the tokens of window " + std::to_string(w + 1) + " differ at position " +
                            std::to_string(t + 1) + " (another text or tokenizer)");
    }
}

LogitsFileWriter::LogitsFileWriter(const std::filesystem::path& path, const LogitsFileHeader& header,
                                   const std::vector<int>& stream)
    : m_header(header), m_writer(path, tensorsOf(header), metadataOf(header)) {
    const std::size_t T = std::size_t(header.ctx);
    if (stream.size() < std::size_t(header.windows) * T)
        throw Error(path.string() + ": " + std::to_string(header.windows) + " windows of " + std::to_string(T) +
                    " tokens need more than the " + std::to_string(stream.size()) + " tokens given");
    for (int w = 0; w < header.windows; ++w) {
        const std::vector<std::int32_t> ids(stream.begin() + std::ptrdiff_t(w * T), stream.begin() + std::ptrdiff_t((w + 1) * T));
        m_writer.append(ids.data(), ids.size() * sizeof(std::int32_t));
    }
}

void LogitsFileWriter::appendWindow(const MatrixRM& logits) {
    if (logits.rows() != m_header.ctx || logits.cols() != m_header.vocab)
        throw Error("logits file: a window's logits are [" + std::to_string(logits.rows()) + ", " +
                    std::to_string(logits.cols()) + "], not [" + std::to_string(m_header.ctx) + ", " +
                    std::to_string(m_header.vocab) + "]");
    m_writer.append(logits.data(), std::size_t(logits.size()) * sizeof(float));  // row-major [ctx, vocab]
}

void LogitsFileWriter::commit() { m_writer.commit(); }

}  // namespace qb::core

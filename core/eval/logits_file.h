#pragma once
// The logits file of `eval --save-logits`: a baseline's next-token logits, computed once and
// reused by `eval --baseline-logits` (KL divergence against it, core/eval/kl_divergence.h).
//
// Layout (a .safetensors file, tensors in this order):
//   tokens  I32 [W, ctx]         the evaluated windows' token ids
//   logits  F32 [W, ctx, vocab]  row-major logits at every position, the last one included
// Metadata (strings): format = "quantbench-logits", model, text, text_sha256 (of the text's
// bytes), ctx, windows, bos ("per document" | "none"). The windows are the perplexity protocol's
// (core/eval/perplexity.h): window w holds tokens [w·ctx, (w+1)·ctx) of the encoded text.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/io/safetensors_file.h"
#include "core/io/safetensors_stream_writer.h"
#include "core/util/matrix.h"

namespace qb::core {

/// How a logits file was made (its metadata).
struct LogitsFileHeader {
    std::string model;       ///< the model folder, as given
    std::string text;        ///< the text file, as given
    std::string textSha256;  ///< SHA-256 (hex) of the text's bytes
    int ctx = 0;             ///< window length in tokens
    int windows = 0;         ///< W
    Index vocab = 0;         ///< logits per position
    bool bos = false;        ///< BOS opens every document
};

/// A validated, memory-mapped logits file. Immutable after open(); windows may be read from
/// any thread. Window data points into the mapping and lives as long as this object.
class LogitsFile {
public:
    /// Maps and validates path: format metadata, the two tensors with the dtypes and shapes above,
    /// consistent with the metadata's ctx and windows. Throws Error "<file>: <problem>".
    static std::shared_ptr<const LogitsFile> open(const std::filesystem::path& path);

    [[nodiscard]] const std::filesystem::path& path() const { return m_file->path(); }
    [[nodiscard]] const LogitsFileHeader& header() const { return m_header; }
    [[nodiscard]] int ctx() const { return m_header.ctx; }
    [[nodiscard]] int windows() const { return m_header.windows; }
    [[nodiscard]] Index vocab() const { return m_header.vocab; }

    /// The ctx token ids of window w (0-based).
    [[nodiscard]] std::span<const std::int32_t> tokens(int w) const;
    /// The logits of window w: [ctx, vocab], row-major, a view into the mapping.
    [[nodiscard]] Eigen::Map<const MatrixRM> logits(int w) const;
    /// Lets the kernel drop window w's mapped logits pages (read once, window by window).
    void release(int w) const;

    /// Throws Error naming the file and the first difference when its windows are not the
    /// ones a run scores: the first `windows` windows of `stream` at `ctx` on a text whose
    /// SHA-256 is textSha256, with a model of `vocab` logits. The messages read
    ///   "<file>: made with ctx 256, this run uses 512"
    ///   "<file>: made on another text (eval.txt, sha256 1a2b3c4d…), this run's text has 5e6f7a8b…"
    ///   "<file>: made with 8 windows, this run uses 40"
    ///   "<file>: holds logits over 32000 tokens, the model's vocabulary has 512"
    ///   "<file>: the tokens of window 3 differ at position 17 (another text or tokenizer)"
    /// (windows and positions counted from 1).
    void checkMatches(const std::vector<int>& stream, int ctx, int windows, const std::string& textSha256,
                      Index vocab) const;

private:
    LogitsFile() = default;
    std::shared_ptr<SafetensorsFile> m_file;
    LogitsFileHeader m_header;
    const TensorInfo* m_tokens = nullptr;
    const TensorInfo* m_logits = nullptr;
};

/// Writes a logits file window by window; never holds more than one window of logits.
/// Not thread-safe. Destroyed before commit(): no file is left behind.
class LogitsFileWriter {
public:
    /// Opens the temp file (so a missing folder is reported before any work) and writes the
    /// tokens of the first header.windows windows of stream (which must hold them).
    /// Throws Error naming path.
    LogitsFileWriter(const std::filesystem::path& path, const LogitsFileHeader& header, const std::vector<int>& stream);

    /// Appends the next window's logits [ctx, vocab] (row-major, every position).
    void appendWindow(const MatrixRM& logits);
    /// Checks that every window arrived, then renames the file into place.
    void commit();

private:
    LogitsFileHeader m_header;
    SafetensorsStreamWriter m_writer;
};

}  // namespace qb::core

#include "core/text/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/text/byte_level.h"
#include "core/text/utf8.h"
#include "core/util/error.h"

namespace qb::core::text {

namespace {

// Words up to this many bytes are cached, up to this many words; past that the cache stops
// growing (English prose has far fewer distinct words than that).
constexpr std::size_t kMaxCachedWordBytes = 64;
constexpr std::size_t kMaxCachedWords = std::size_t(1) << 18;

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Open-addressing table (left id, right id) → merge. Lookups are the inner loop of BPE; key and
// value share one 16-byte slot so a probe touches one cache line.
class PairMap {
public:
    struct Merge {
        int rank;
        int id;
    };
    void reserve(std::size_t n) {
        std::size_t cap = 16;
        while (cap < 2 * n) cap <<= 1;
        m_slots.assign(cap, Slot{kEmpty, {0, 0}});
        m_mask = cap - 1;
    }
    // Keeps the first insertion of a pair (the lower rank).
    void insert(int left, int right, Merge m) {
        const std::uint64_t key = pack(left, right);
        for (std::size_t i = slot(key);; i = (i + 1) & m_mask) {
            if (m_slots[i].key == key) return;
            if (m_slots[i].key == kEmpty) {
                m_slots[i] = {key, m};
                return;
            }
        }
    }
    [[nodiscard]] const Merge* find(int left, int right) const {
        const std::uint64_t key = pack(left, right);
        for (std::size_t i = slot(key);; i = (i + 1) & m_mask) {
            if (m_slots[i].key == key) return &m_slots[i].merge;
            if (m_slots[i].key == kEmpty) return nullptr;
        }
    }

private:
    struct Slot {
        std::uint64_t key;
        Merge merge;
    };
    static constexpr std::uint64_t kEmpty = ~std::uint64_t(0);
    static std::uint64_t pack(int left, int right) { return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right); }
    [[nodiscard]] std::size_t slot(std::uint64_t key) const { return std::size_t((key * 0x9E3779B97F4A7C15ull) >> 24) & m_mask; }
    std::vector<Slot> m_slots;
    std::size_t m_mask = 0;
};

std::string inQuotes(const std::string& s) { return "\"" + s + "\""; }

constexpr std::string_view kMeta = "\xE2\x96\x81";  // ▁
constexpr std::size_t kMetaBytes = 3;

}  // namespace

struct BpeModel::Tables {
    StringMap<int> byKey;       ///< raw bytes (byte-level) or spelled token → id
    StringMap<int> bySpelling;  ///< byte-level only: spelled token → id
    PairMap merges;
    mutable std::shared_mutex cacheMutex;
    mutable StringMap<std::vector<int>> cache;
};

BpeModel::BpeModel(const nlohmann::json& spec, bool byteLevel, const std::string& file)
    : m_byteLevel(byteLevel), m_tables(std::make_unique<Tables>()) {
    const std::string type = spec.value("type", std::string("BPE"));
    if (type != "BPE")
        throw Error(file + ": model type '" + type + "' is not supported (supported: BPE)");
    if (const auto d = spec.find("dropout"); d != spec.end() && !d->is_null() && !(d->is_number() && d->get<double>() == 0.0))
        throw Error(file + ": model dropout is not supported (it makes encoding random)");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (const auto it = spec.find(key); it != spec.end() && !it->is_null() && !(it->is_string() && it->get<std::string>().empty()))
            throw Error(file + ": model " + key + " is not supported");
    m_ignoreMerges = spec.value("ignore_merges", false);
    m_byteFallback = spec.value("byte_fallback", false);
    m_fuseUnk = spec.value("fuse_unk", false);

    const auto vocab = spec.find("vocab");
    if (vocab == spec.end() || !vocab->is_object()) throw Error(file + ": model has no \"vocab\" object");
    auto& t = *m_tables;
    StringMap<int>& spelling = byteLevel ? t.bySpelling : t.byKey;
    spelling.reserve(vocab->size());
    int maxId = -1;
    for (const auto& [token, idJson] : vocab->items()) {
        if (!idJson.is_number_integer() || idJson.get<long long>() < 0 || idJson.get<long long>() > (1 << 30))
            throw Error(file + ": model vocab entry " + inQuotes(token) + " has no valid id");
        const int id = idJson.get<int>();
        spelling.emplace(token, id);
        maxId = std::max(maxId, id);
    }
    m_tokens.assign(std::size_t(maxId + 1), std::string());
    for (const auto& [token, id] : spelling) m_tokens[std::size_t(id)] = token;
    if (byteLevel) {
        t.byKey.reserve(spelling.size());
        for (const auto& [token, id] : spelling)
            if (auto bytes = byteLevelToBytes(token)) t.byKey.emplace(std::move(*bytes), id);
    }
    std::fill(std::begin(m_byteIds), std::end(m_byteIds), -1);
    std::fill(std::begin(m_fallbackIds), std::end(m_fallbackIds), -1);
    for (int b = 0; b < 256; ++b) {
        if (const auto id = lookup(std::string(1, char(b))); id && byteLevel) m_byteIds[b] = *id;
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        if (const auto it = spelling.find(std::string_view(name)); it != spelling.end()) m_fallbackIds[b] = it->second;
    }
    if (const auto unk = spec.find("unk_token"); unk != spec.end() && !unk->is_null()) {
        if (!unk->is_string()) throw Error(file + ": model unk_token is not a string");
        const auto it = spelling.find(unk->get<std::string>());
        if (it == spelling.end()) throw Error(file + ": model unk_token " + inQuotes(unk->get<std::string>()) + " is not in the vocabulary");
        m_unk = it->second;
    }

    const auto merges = spec.find("merges");
    if (merges == spec.end() || !merges->is_array()) throw Error(file + ": model has no \"merges\" array");
    t.merges.reserve(merges->size());
    for (std::size_t rank = 0; rank < merges->size(); ++rank) {
        const auto& m = (*merges)[rank];
        std::string left, right;
        if (m.is_string()) {
            const std::string s = m.get<std::string>();
            const auto space = s.find(' ');
            if (space == std::string::npos || space == 0 || space + 1 >= s.size() || s.find(' ', space + 1) != std::string::npos)
                throw Error(file + ": model merges[" + std::to_string(rank) + "] " + inQuotes(s) + " is not two tokens separated by one space");
            left = s.substr(0, space);
            right = s.substr(space + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            left = m[0].get<std::string>();
            right = m[1].get<std::string>();
        } else {
            throw Error(file + ": model merges[" + std::to_string(rank) + "] is neither \"a b\" nor [\"a\", \"b\"]");
        }
        const auto a = spelling.find(left), b = spelling.find(right), ab = spelling.find(left + right);
        for (const auto& [it, what] : {std::pair{a, &left}, std::pair{b, &right}})
            if (it == spelling.end())
                throw Error(file + ": model merges[" + std::to_string(rank) + "]: " + inQuotes(*what) + " is not in the vocabulary");
        if (ab == spelling.end())
            throw Error(file + ": model merges[" + std::to_string(rank) + "]: the merged token " + inQuotes(left + right) +
                        " is not in the vocabulary");
        t.merges.insert(a->second, b->second, {int(rank), ab->second});
    }
    m_splitBeforeMeta = !byteLevel && lookup(kMeta).has_value();  // an unknown ▁ could fuse with unk across the split
    for (const auto& token : m_tokens)
        for (auto pos = token.find(kMeta, 1); m_splitBeforeMeta && pos != std::string::npos; pos = token.find(kMeta, pos + 1))
            m_splitBeforeMeta = pos >= kMetaBytes && token.compare(pos - kMetaBytes, kMetaBytes, kMeta) == 0;
    t.cache.reserve(4096);
}

BpeModel::~BpeModel() = default;

std::optional<int> BpeModel::lookup(std::string_view key) const {
    const auto it = m_tables->byKey.find(key);
    if (it == m_tables->byKey.end()) return std::nullopt;
    return it->second;
}

std::optional<int> BpeModel::tokenId(const std::string& token) const {
    const auto& map = m_byteLevel ? m_tables->bySpelling : m_tables->byKey;
    const auto it = map.find(token);
    if (it == map.end()) return std::nullopt;
    return it->second;
}

const std::string& BpeModel::token(int id) const {
    static const std::string kNone;
    return id >= 0 && std::size_t(id) < m_tokens.size() ? m_tokens[std::size_t(id)] : kNone;
}

// A SentencePiece-style tokenizer without a pre-tokenizer (Llama 2's export) hands the whole
// text to the model as one word. When no token holds "▁" after another character, no merge can
// join the two sides of a "x▁" boundary, so encoding the stretches between such boundaries one
// by one gives the same ids — and lets the word cache work.
void BpeModel::encodeWord(std::string_view word, std::vector<int>& out) const {
    if (!m_splitBeforeMeta || word.size() <= kMetaBytes) {
        encodePiece(word, out);
        return;
    }
    std::size_t start = 0;
    for (std::size_t pos = word.find(kMeta, 1); pos != std::string_view::npos; pos = word.find(kMeta, pos + kMetaBytes)) {
        if (pos >= kMetaBytes && word.compare(pos - kMetaBytes, kMetaBytes, kMeta) == 0) continue;  // "▁▁" stays together
        encodePiece(word.substr(start, pos - start), out);
        start = pos;
    }
    encodePiece(word.substr(start), out);
}

void BpeModel::encodePiece(std::string_view word, std::vector<int>& out) const {
    if (word.empty()) return;
    if (m_ignoreMerges)
        if (const auto id = lookup(word)) {
            out.push_back(*id);
            return;
        }
    const bool cacheable = word.size() <= kMaxCachedWordBytes;
    auto& t = *m_tables;
    if (cacheable) {
        std::shared_lock lock(t.cacheMutex);
        if (const auto it = t.cache.find(word); it != t.cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const std::size_t first = out.size();
    mergeWord(word, out);
    if (cacheable) {
        std::unique_lock lock(t.cacheMutex);
        if (t.cache.size() < kMaxCachedWords) t.cache.emplace(std::string(word), std::vector<int>(out.begin() + long(first), out.end()));
    }
}

// The symbols a word starts as: its bytes (byte-level) or characters, unknown characters as
// their <0xXX> byte tokens (byte_fallback) or unk (runs fused with fuse_unk) or dropped.
void BpeModel::initialSymbols(std::string_view word, std::vector<int>& ids) const {
    bool lastWasUnk = false;
    auto pushUnknown = [&](std::string_view bytes) {
        if (m_byteFallback) {
            bool all = true;
            for (const char c : bytes) all = all && m_fallbackIds[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                for (const char c : bytes) ids.push_back(m_fallbackIds[static_cast<unsigned char>(c)]);
                lastWasUnk = false;
                return;
            }
        }
        if (!m_unk) return;
        if (!(m_fuseUnk && lastWasUnk)) ids.push_back(*m_unk);
        lastWasUnk = true;
    };
    if (m_byteLevel) {
        for (const char c : word) {
            const int id = m_byteIds[static_cast<unsigned char>(c)];
            if (id >= 0) {
                ids.push_back(id);
                lastWasUnk = false;
            } else {
                pushUnknown(std::string_view(&c, 1));
            }
        }
        return;
    }
    for (std::size_t pos = 0; pos < word.size();) {
        const std::size_t len = std::min(utf8SequenceLength(static_cast<unsigned char>(word[pos])), word.size() - pos);
        const std::string_view ch = word.substr(pos, len);
        if (const auto id = lookup(ch)) {
            ids.push_back(*id);
            lastWasUnk = false;
        } else {
            pushUnknown(ch);
        }
        pos += len;
    }
}

// BPE: repeatedly apply the lowest-ranked merge among adjacent symbols (leftmost on ties), the
// order Hugging Face's BPE uses. Symbols form a doubly linked list; candidate merges sit in a
// min-heap keyed (rank, position) and are re-checked when popped, since a neighbour may have
// changed since they were pushed.
void BpeModel::mergeWord(std::string_view word, std::vector<int>& out) const {
    thread_local std::vector<int> ids, prev, next;
    struct Candidate {
        int rank, pos, left, right;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    thread_local std::vector<Candidate> heap;
    ids.clear();
    initialSymbols(word, ids);
    const int n = int(ids.size());
    prev.resize(std::size_t(n));
    next.resize(std::size_t(n));
    for (int i = 0; i < n; ++i) {
        prev[std::size_t(i)] = i - 1;
        next[std::size_t(i)] = i + 1 < n ? i + 1 : -1;
    }
    heap.clear();
    const auto& merges = m_tables->merges;
    auto consider = [&](int pos) {
        const int right = next[std::size_t(pos)];
        if (pos < 0 || right < 0) return;
        if (const auto* m = merges.find(ids[std::size_t(pos)], ids[std::size_t(right)])) {
            heap.push_back({m->rank, pos, ids[std::size_t(pos)], ids[std::size_t(right)]});
            std::push_heap(heap.begin(), heap.end(), std::greater<>());
        }
    };
    for (int i = 0; i + 1 < n; ++i) consider(i);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), std::greater<>());
        const Candidate c = heap.back();
        heap.pop_back();
        const int right = next[std::size_t(c.pos)];
        if (ids[std::size_t(c.pos)] != c.left || right < 0 || ids[std::size_t(right)] != c.right) continue;  // stale
        ids[std::size_t(c.pos)] = merges.find(c.left, c.right)->id;
        ids[std::size_t(right)] = -1;
        next[std::size_t(c.pos)] = next[std::size_t(right)];
        if (next[std::size_t(c.pos)] >= 0) prev[std::size_t(next[std::size_t(c.pos)])] = c.pos;
        if (prev[std::size_t(c.pos)] >= 0) consider(prev[std::size_t(c.pos)]);
        consider(c.pos);
    }
    for (int i = 0; i >= 0 && i < n; i = next[std::size_t(i)]) out.push_back(ids[std::size_t(i)]);
}

}  // namespace qb::core::text

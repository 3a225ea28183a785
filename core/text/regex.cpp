#include "core/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/text/utf8.h"
#include "core/util/error.h"

namespace qb::core::text {

namespace {

std::string pcre2Message(int code) {
    PCRE2_UCHAR buffer[256];
    pcre2_get_error_message(code, buffer, sizeof buffer);
    return reinterpret_cast<const char*>(buffer);
}

// Long runs of one class (a megabyte of spaces) can exceed the JIT's default 32 KiB stack;
// each thread gets a larger one on first use.
pcre2_match_context* threadMatchContext() {
    struct Holder {
        pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
        pcre2_match_context* context = pcre2_match_context_create(nullptr);
        Holder() {
            if (stack && context) pcre2_jit_stack_assign(context, nullptr, stack);
        }
        ~Holder() {
            pcre2_match_context_free(context);
            pcre2_jit_stack_free(stack);
        }
    };
    thread_local Holder holder;
    return holder.context;
}

}  // namespace

struct Regex::Impl {
    pcre2_code* code = nullptr;
    bool jit = false;
    ~Impl() { pcre2_code_free(code); }
};

Regex::Regex(const std::string& pattern, bool literal) : m_impl(std::make_unique<Impl>()), m_pattern(pattern) {
    int errorCode = 0;
    PCRE2_SIZE errorOffset = 0;
    const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);  // LITERAL refuses UCP
    m_impl->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &errorCode,
                                 &errorOffset, nullptr);
    if (!m_impl->code)
        throw Error("regex '" + pattern + "': " + pcre2Message(errorCode) + " at offset " + std::to_string(errorOffset));
    m_impl->jit = pcre2_jit_compile(m_impl->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;

bool Regex::matchesAtStart(std::string_view text) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(m_impl->code, nullptr), &pcre2_match_data_free);
    if (!data) throw Error("regex '" + m_pattern + "': out of memory");
    // PCRE2_ANCHORED at match time: pcre2_match runs the interpreter (the JIT code is unanchored).
    const int rc = pcre2_match(m_impl->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, PCRE2_ANCHORED,
                               data.get(), threadMatchContext());
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) throw Error("regex '" + m_pattern + "': " + pcre2Message(rc));
    return true;
}

void Regex::forEachMatch(std::string_view text, const std::function<void(std::size_t, std::size_t)>& onMatch) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
        pcre2_match_data_create_from_pattern(m_impl->code, nullptr), &pcre2_match_data_free);
    if (!data) throw Error("regex '" + m_pattern + "': out of memory");
    pcre2_match_context* context = threadMatchContext();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t start = 0;
    // The first call checks the subject is valid UTF-8; later calls skip that (PCRE2_NO_UTF_CHECK).
    uint32_t options = 0;
    while (start <= text.size()) {
        const int rc = m_impl->jit ? pcre2_jit_match(m_impl->code, subject, text.size(), start, options, data.get(), context)
                                   : pcre2_match(m_impl->code, subject, text.size(), start, options, data.get(), context);
        if (rc == PCRE2_ERROR_NOMATCH) return;
        if (rc < 0) throw Error("regex '" + m_pattern + "': " + pcre2Message(rc));
        options = PCRE2_NO_UTF_CHECK;
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
        const std::size_t begin = ovector[0], end = ovector[1];
        if (end > begin) {
            onMatch(begin, end);
            start = end;
        } else {
            if (begin >= text.size()) return;
            start = begin + utf8SequenceLength(static_cast<unsigned char>(text[begin]));
        }
    }
}

}  // namespace qb::core::text

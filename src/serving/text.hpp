// Client-supplied text shortened for an error message or a log line: one rule for the shim, the
// node and the serving core, so no message carries a megabyte back or splits a UTF-8 sequence.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gencontrol::serving {

// The longest prefix of text with at most `limit` bytes that does not end inside a UTF-8 sequence.
inline std::string_view utf8_prefix(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return text.substr(0, cut);
}

// text itself when it has at most `limit` bytes (limit >= 3); otherwise its first bytes, cut on
// a UTF-8 boundary, and "...": never more than `limit` bytes.
inline std::string shortened(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return std::string(text);
    return std::string(utf8_prefix(text, limit - 3)) + "...";
}

}  // namespace gencontrol::serving

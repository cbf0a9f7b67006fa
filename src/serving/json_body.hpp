// Request bodies as JSON, read the same strict way by every program on the serving core: nesting
// is bounded without recursion, and an object that names a member twice is refused (a proxy or a
// log reader that keeps the first copy would otherwise see a different request than we act on;
// serde, which Neon's services parse with, refuses it too).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gencontrol::serving {

// How deep a request body may nest (objects and arrays): deeper is refused.
inline constexpr std::size_t kMaxJsonDepth = 64;

struct JsonBody {
    nlohmann::json doc;  // a discarded value when refused
    std::string error;   // empty when the body was read; otherwise why not, for a 400
};

// Parses body as one JSON value. Refused, with a reason: malformed JSON ("malformed JSON: ..."),
// a container nested deeper than max_depth ("JSON nested deeper than N levels", found while
// parsing, so no tree deeper than max_depth is ever built), or an object naming a member twice
// ("duplicate member ..."). Member names are compared after unescaping, as the parser sees them.
JsonBody parse_json_body(std::string_view body, std::size_t max_depth = kMaxJsonDepth);

}  // namespace gencontrol::serving

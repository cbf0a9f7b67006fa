// The strict reading of request bodies; see json_body.hpp.
#include "serving/json_body.hpp"

#include <fmt/format.h>

#include <unordered_set>
#include <utility>
#include <vector>

namespace gencontrol::serving {
namespace {

using nlohmann::json;

// Thrown from the parser's callback to stop at the first refusal; caught below only.
struct Refused {
    std::string why;
};

// The first bytes of text, at most `limit` of them, cut on a UTF-8 boundary; whether it was cut.
std::pair<std::string, bool> head_of(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return {std::string(text), false};
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return {std::string(text.substr(0, cut)), true};
}

// A member name for a message: quoted, at most 57 bytes of it.
std::string quoted_name(const std::string& name) {
    auto [head, cut] = head_of(name, 57);
    return json(head).dump(-1, ' ', false, json::error_handler_t::replace) + (cut ? "..." : "");
}

// nlohmann's message ends with the token it last read ("last read: '...'"), which can be as long
// as the body: a refusal must not hand a megabyte string back, nor write it to the log.
std::string parse_error_message(std::string what) {
    // nlohmann prefixes "[json.exception.parse_error.101] "; the reader needs only the rest.
    if (auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
    auto [head, cut] = head_of(what, 200);
    return "malformed JSON: " + head + (cut ? "..." : "");
}

}  // namespace

JsonBody parse_json_body(std::string_view body, std::size_t max_depth) {
    // The names seen in each object still open, innermost last: at most max_depth sets, holding
    // no more names than the body spells out.
    std::vector<std::unordered_set<std::string>> open_objects;
    auto check = [&](int depth, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                // depth counts the containers around this one.
                if (static_cast<std::size_t>(depth) >= max_depth)
                    throw Refused{fmt::format("JSON nested deeper than {} levels", max_depth)};
                if (event == json::parse_event_t::object_start) open_objects.emplace_back();
                break;
            case json::parse_event_t::key: {
                const auto& name = parsed.get_ref<const std::string&>();
                if (!open_objects.back().insert(name).second)
                    throw Refused{fmt::format("duplicate member {} in one JSON object", quoted_name(name))};
                break;
            }
            case json::parse_event_t::object_end: open_objects.pop_back(); break;
            default: break;
        }
        return true;
    };
    try {
        return {json::parse(body, check), {}};
    } catch (const Refused& r) {
        return {json(json::value_t::discarded), r.why};
    } catch (const json::parse_error& e) {
        return {json(json::value_t::discarded), parse_error_message(e.what())};
    }
}

}  // namespace gencontrol::serving

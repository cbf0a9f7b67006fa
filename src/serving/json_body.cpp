// The strict reading of request bodies; see json_body.hpp.
#include "serving/json_body.hpp"

#include <fmt/format.h>

#include <unordered_set>
#include <vector>

#include "serving/text.hpp"

namespace gencontrol::serving {
namespace {

using nlohmann::json;

// Thrown from the parser's callback to stop at the first refusal; caught below only.
struct Refused {
    std::string why;
};

// A member name for a message: quoted, whole up to 60 bytes, else its first 57 and "...".
std::string quoted_name(const std::string& name) {
    std::string_view head = name.size() <= 60 ? std::string_view(name) : utf8_prefix(name, 57);
    return json(std::string(head)).dump(-1, ' ', false, json::error_handler_t::replace) +
           (head.size() < name.size() ? "..." : "");
}

// nlohmann's message ends with the token it last read ("last read: '...'"), which can be as long
// as the body: a refusal must not hand a megabyte string back, nor write it to the log.
std::string parse_error_message(std::string what) {
    // nlohmann prefixes "[json.exception.parse_error.101] "; the reader needs only the rest.
    if (auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
    return "malformed JSON: " + shortened(what, 203);
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

// Parsing and checking of the shim's JSON request bodies, and formatting of its responses.
// Every refusal names the field it is about; unknown fields are ignored, as Neon's clients add
// fields.
#include "json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>

#include "generation.hpp"
#include "serving/json_body.hpp"
#include "serving/text.hpp"

namespace gencontrol::http {
namespace {

using nlohmann::json;
// Responses keep their fields in the order docs/design.md and Neon write them.
using nlohmann::ordered_json;

constexpr std::int64_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::int64_t kMaxU16 = std::numeric_limits<std::uint16_t>::max();
constexpr std::int64_t kMaxNodeId = std::numeric_limits<std::int64_t>::max();

// Thrown inside this file only; each parse_* function turns it into a RequestError.
struct FieldError {
    RequestError error;
};

[[noreturn]] void refuse(std::string_view field, std::string_view why, int status = 400) {
    throw FieldError{{status, fmt::format("{}: {}", field, why)}};
}

// The offending value, short enough for a log line and an error body. Containers are named, not
// printed: printing recurses, and a refusal must cost no more than the body it refuses.
std::string shown(const json& value) {
    if (value.is_object()) return "an object";
    if (value.is_array()) return "an array";
    if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (text.size() > 80)
            return json(std::string(serving::utf8_prefix(text, 77))).dump(-1, ' ', false, json::error_handler_t::replace) +
                   "...";
    }
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// What a body's bytes say about its shape before any parser builds anything: its deepest nesting
// (counted up to kMaxJsonDepth + 1) and the longest array directly inside the top-level object.
// One pass, no recursion, no allocation; malformed input is left to the parser.
struct BodyShape {
    std::size_t depth = 0;
    std::size_t longest_member_array = 0;
};

BodyShape scan_shape(std::string_view body) {
    BodyShape shape;
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    bool member_array = false;  // the container at depth 2 is an array inside the top-level object
    bool top_is_object = false;
    std::size_t elements = 0;
    bool empty = true;
    for (char c : body) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            if (depth == 2 && member_array) empty = false;
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                if (depth == 2 && member_array) empty = false;
                break;
            case '{':
            case '[':
                if (depth == 2 && member_array) empty = false;
                ++depth;
                if (depth == 1) top_is_object = c == '{';
                if (depth == 2) {
                    member_array = top_is_object && c == '[';
                    elements = 0;
                    empty = true;
                }
                if (depth > shape.depth) shape.depth = depth;
                if (depth > kMaxJsonDepth) return shape;
                break;
            case '}':
            case ']':
                if (depth == 2 && member_array) {
                    std::size_t n = empty ? 0 : elements + 1;
                    if (n > shape.longest_member_array) shape.longest_member_array = n;
                    member_array = false;
                }
                if (depth > 0) --depth;
                break;
            case ',':
                if (depth == 2 && member_array) ++elements;
                break;
            case ' ':
            case '\t':
            case '\n':
            case '\r':
                break;
            default:
                if (depth == 2 && member_array) empty = false;
        }
    }
    return shape;
}

json parse_body(std::string_view body) {
    serving::JsonBody parsed = serving::parse_json_body(body, kMaxJsonDepth);
    if (!parsed.error.empty()) throw FieldError{{400, std::move(parsed.error)}};
    if (!parsed.doc.is_object()) throw FieldError{{400, "the request body must be a JSON object"}};
    return std::move(parsed.doc);
}

// A present, non-null member, or nullptr.
const json* member(const json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
}

const json& required(const json& object, const char* key, std::string_view field) {
    auto it = object.find(key);
    if (it == object.end()) refuse(field, "missing");
    if (it->is_null()) refuse(field, "must not be null");
    return *it;
}

// Integers only: 7.0 and "7" are refused as serde refuses them for Neon's integer fields.
std::int64_t integer_in(const json& value, std::string_view field, std::int64_t min, std::int64_t max) {
    std::int64_t n = 0;
    if (value.is_number_unsigned()) {
        auto u = value.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(max))
            refuse(field,
                   fmt::format("expected an integer between {} and {}, got {}", min, max, shown(value)));
        n = static_cast<std::int64_t>(u);
    } else if (value.is_number_integer()) {
        n = value.get<std::int64_t>();
    } else {
        refuse(field, fmt::format("expected an integer between {} and {}, got {}", min, max, shown(value)));
    }
    if (n < min || n > max)
        refuse(field, fmt::format("expected an integer between {} and {}, got {}", min, max, shown(value)));
    return n;
}

std::string string_value(const json& value, std::string_view field) {
    if (!value.is_string()) refuse(field, fmt::format("expected a string, got {}", shown(value)));
    return value.get<std::string>();
}

TenantShardId tenant_shard_id(const json& value, std::string_view field) {
    if (!value.is_string())
        refuse(field, fmt::format("expected a tenant shard id string, got {}", shown(value)));
    const auto& text = value.get_ref<const std::string&>();
    auto parsed = parse_tenant_shard_id(text);
    if (!parsed.id) refuse(field, fmt::format("invalid tenant shard id {}: {}", shown(value), parsed.error));
    return *parsed.id;
}

std::int64_t node_id(const json& value, std::string_view field) {
    return integer_in(value, field, 1, kMaxNodeId);
}

// Optional fields: absent and null mean the same (Neon sends null for what is unset).
std::optional<std::int32_t> optional_port(const json& object, const char* key, std::string_view field) {
    if (const json* v = member(object, key)) return static_cast<std::int32_t>(integer_in(*v, field, 0, kMaxU16));
    return std::nullopt;
}

std::optional<std::string> optional_string(const json& object, const char* key, std::string_view field) {
    if (const json* v = member(object, key)) return string_value(*v, field);
    return std::nullopt;
}

// A timeline id: 32 hex digits, as Neon writes it; kept in lower case.
std::string timeline_id(const json& value, std::string_view field) {
    std::string text = string_value(value, field);
    if (text.size() != 32 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        refuse(field, fmt::format("expected 32 hex digits, got {}", shown(value)));
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

ImportStatusQuery import_status_query(const json& doc) {
    ImportStatusQuery query;
    query.tenant = tenant_shard_id(required(doc, "tenant_shard_id", "tenant_shard_id"), "tenant_shard_id");
    query.timeline = timeline_id(required(doc, "timeline_id", "timeline_id"), "timeline_id");
    query.generation =
        static_cast<std::uint32_t>(integer_in(required(doc, "generation", "generation"), "generation", 0, kMaxU32));
    return query;
}

NodeRegistration registration(const json& value) {
    if (!value.is_object()) refuse("register", fmt::format("expected an object, got {}", shown(value)));
    NodeRegistration r;
    r.node_id = node_id(required(value, "node_id", "register.node_id"), "register.node_id");
    r.listen_pg_addr =
        string_value(required(value, "listen_pg_addr", "register.listen_pg_addr"), "register.listen_pg_addr");
    r.listen_pg_port = static_cast<std::int32_t>(integer_in(
        required(value, "listen_pg_port", "register.listen_pg_port"), "register.listen_pg_port", 0, kMaxU16));
    r.listen_http_addr = string_value(required(value, "listen_http_addr", "register.listen_http_addr"),
                                      "register.listen_http_addr");
    r.listen_http_port =
        static_cast<std::int32_t>(integer_in(required(value, "listen_http_port", "register.listen_http_port"),
                                             "register.listen_http_port", 0, kMaxU16));
    // Neon added availability_zone_id later; older pageservers register without it.
    if (const json* az = member(value, "availability_zone_id"))
        r.availability_zone_id = string_value(*az, "register.availability_zone_id");
    r.listen_https_port = optional_port(value, "listen_https_port", "register.listen_https_port");
    r.listen_grpc_addr = optional_string(value, "listen_grpc_addr", "register.listen_grpc_addr");
    r.listen_grpc_port = optional_port(value, "listen_grpc_port", "register.listen_grpc_port");
    r.node_ip_addr = optional_string(value, "node_ip_addr", "register.node_ip_addr");
    return r;
}

template <class T, class F>
Parsed<T> parse_with(std::string_view body, F&& build) {
    try {
        return {build(parse_body(body)), {}};
    } catch (const FieldError& e) {
        return {std::nullopt, e.error};
    } catch (const std::exception& e) {
        // nlohmann type errors should be impossible after the checks above; refuse, never crash.
        return {std::nullopt, {400, fmt::format("unreadable request: {}", e.what())}};
    }
}

// Validate's hot path: one pass over the bytes of the shape a pageserver sends,
// {"tenants": [{"id": "...", "gen": N}, ...]} (any whitespace, the two entry fields in either
// order), building the entries without a document, a token string or an allocation per entry.
// Anything else (an unknown or repeated field, an escape, a number that is not plain digits, a
// bad id, too many entries) makes it give up and hand the body to the tree-based parser, which
// alone decides refusals, so errors and their messages do not depend on this pass.
class ValidateFastPath {
public:
    explicit ValidateFastPath(std::string_view body) : at_(body.data()), end_(body.data() + body.size()) {}

    bool parse(ValidateRequest& out) {
        if (!(next('{') && key() == Key::tenants && next(':') && next('['))) return false;
        if (!next(']')) {
            do {
                if (out.tenants.size() >= kMaxValidateEntries || !entry(out)) return false;
            } while (next(','));
            if (!next(']')) return false;
        }
        if (!next('}')) return false;
        skip_space();
        return at_ == end_;
    }

private:
    enum class Key { tenants, id, gen, other };

    void skip_space() {
        while (at_ < end_ && (*at_ == ' ' || *at_ == '\n' || *at_ == '\r' || *at_ == '\t')) ++at_;
    }
    // Skips whitespace, then consumes c if it comes next.
    bool next(char c) {
        skip_space();
        if (at_ == end_ || *at_ != c) return false;
        ++at_;
        return true;
    }
    // A string without escapes or control characters (JSON needs escapes for those).
    bool string(std::string_view& text) {
        if (!next('"')) return false;
        const char* begin = at_;
        while (at_ < end_ && *at_ != '"') {
            if (*at_ == '\\' || static_cast<unsigned char>(*at_) < 0x20) return false;
            ++at_;
        }
        if (at_ == end_) return false;
        text = std::string_view(begin, static_cast<std::size_t>(at_ - begin));
        ++at_;
        return true;
    }
    Key key() {
        std::string_view name;
        if (!string(name)) return Key::other;
        if (name == "tenants") return Key::tenants;
        if (name == "id") return Key::id;
        if (name == "gen") return Key::gen;
        return Key::other;
    }
    // A JSON integer in 0..2^32-1 written as plain digits (no sign, fraction, exponent or
    // leading zero).
    bool generation(std::uint32_t& out) {
        skip_space();
        const char* begin = at_;
        std::uint64_t n = 0;
        while (at_ < end_ && *at_ >= '0' && *at_ <= '9' && at_ - begin < 11) n = n * 10 + static_cast<unsigned>(*at_++ - '0');
        std::size_t digits = static_cast<std::size_t>(at_ - begin);
        if (digits == 0 || digits > 10 || (digits > 1 && *begin == '0') || n > static_cast<std::uint64_t>(kMaxU32))
            return false;
        if (at_ < end_ && (*at_ == '.' || *at_ == 'e' || *at_ == 'E')) return false;
        out = static_cast<std::uint32_t>(n);
        return true;
    }
    bool entry(ValidateRequest& out) {
        if (!next('{')) return false;
        ValidateEntry e;
        bool seen_id = false, seen_gen = false;
        for (int member = 0; member < 2; ++member) {
            if (member == 1 && !next(',')) return false;
            Key k = key();
            if (!next(':')) return false;
            if (k == Key::id && !seen_id) {
                std::string_view text;
                if (!string(text)) return false;
                auto parsed = parse_tenant_shard_id(text);
                if (!parsed.id) return false;
                e.id = *parsed.id;
                seen_id = true;
            } else if (k == Key::gen && !seen_gen) {
                if (!generation(e.generation)) return false;
                seen_gen = true;
            } else {
                return false;
            }
        }
        if (!next('}')) return false;
        out.tenants.push_back(e);
        return true;
    }

    const char* at_;
    const char* end_;
};

// The count is refused from the bytes, before the fast path or a tree holds a million entries.
// (Any array member of the body counts: a validate body has no other use for one that long.)
std::optional<RequestError> refuse_validate_shape(std::string_view body) {
    BodyShape shape = scan_shape(body);
    if (shape.depth > kMaxJsonDepth) return RequestError{400, fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth)};
    if (shape.longest_member_array > kMaxValidateEntries)
        return RequestError{413, fmt::format("tenants: at most {} entries per request, got {}", kMaxValidateEntries,
                                             shape.longest_member_array)};
    return std::nullopt;
}

Parsed<ValidateRequest> parse_validate_request_tree(std::string_view body) {
    if (auto refusal = refuse_validate_shape(body)) return {std::nullopt, *refusal};
    return parse_with<ValidateRequest>(body, [](const json& doc) {
        const json& tenants = required(doc, "tenants", "tenants");
        if (!tenants.is_array()) refuse("tenants", fmt::format("expected an array, got {}", shown(tenants)));
        if (tenants.size() > kMaxValidateEntries)
            refuse("tenants",
                   fmt::format("at most {} entries per request, got {}", kMaxValidateEntries, tenants.size()),
                   413);
        ValidateRequest request;
        request.tenants.reserve(tenants.size());
        std::size_t index = 0;
        for (const json& entry : tenants) {
            std::string field = fmt::format("tenants[{}]", index++);
            if (!entry.is_object()) refuse(field, fmt::format("expected an object, got {}", shown(entry)));
            ValidateEntry e;
            e.id = tenant_shard_id(required(entry, "id", field + ".id"), field + ".id");
            e.generation = static_cast<std::uint32_t>(
                integer_in(required(entry, "gen", field + ".gen"), field + ".gen", 0, kMaxU32));
            request.tenants.push_back(e);
        }
        return request;
    });
}

}  // namespace

Parsed<ReAttachRequest> parse_re_attach_request(std::string_view body) {
    return parse_with<ReAttachRequest>(body, [](const json& doc) {
        ReAttachRequest request;
        request.node_id = node_id(required(doc, "node_id", "node_id"), "node_id");
        if (const json* reg = member(doc, "register")) {
            request.registration = registration(*reg);
            // A node registers itself; a mismatch is a confused client, not something to guess
            // about.
            if (request.registration->node_id != request.node_id)
                refuse("register.node_id", fmt::format("must equal node_id ({}), got {}", request.node_id,
                                                       request.registration->node_id));
        }
        if (const json* empty = member(doc, "empty_local_disk")) {
            if (!empty->is_boolean())
                refuse("empty_local_disk", fmt::format("expected a boolean, got {}", shown(*empty)));
            request.empty_local_disk = empty->get<bool>();
        }
        return request;
    });
}

Parsed<ValidateRequest> parse_validate_request(std::string_view body) {
    // The fast path is bounded by itself (fixed depth, at most kMaxValidateEntries); the tree
    // parser checks depth and count from the bytes before it builds anything.
    ValidateRequest request;
    // A pageserver sends chunks of 128 entries of about 60 bytes each.
    request.tenants.reserve(std::min<std::size_t>(body.size() / 48 + 1, 4096));
    if (ValidateFastPath(body).parse(request)) return {std::move(request), {}};
    return parse_validate_request_tree(body);
}

Parsed<ValidateRequest> parse_validate_request_without_fast_path(std::string_view body) {
    return parse_validate_request_tree(body);
}

Parsed<AttachHookRequest> parse_attach_hook_request(std::string_view body) {
    return parse_with<AttachHookRequest>(body, [](const json& doc) {
        AttachHookRequest request;
        request.tenant =
            tenant_shard_id(required(doc, "tenant_shard_id", "tenant_shard_id"), "tenant_shard_id");
        // node_id must be present: an explicit null detaches, a forgotten field must not.
        auto node = doc.find("node_id");
        if (node == doc.end()) refuse("node_id", "missing (null detaches)");
        if (!node->is_null()) request.node_id = node_id(*node, "node_id");
        if (const json* override_gen = member(doc, "generation_override")) {
            // u32 on the wire, but a generation above 2^31-1 can never be issued, so it is refused
            // here.
            request.generation_override = static_cast<std::int32_t>(
                integer_in(*override_gen, "generation_override", kFirstGeneration, kMaxGeneration));
        }
        return request;
    });
}

Parsed<InspectRequest> parse_inspect_request(std::string_view body) {
    return parse_with<InspectRequest>(body, [](const json& doc) {
        return InspectRequest{
            tenant_shard_id(required(doc, "tenant_shard_id", "tenant_shard_id"), "tenant_shard_id")};
    });
}

Parsed<ImportStatusQuery> parse_import_status_query(std::string_view body) {
    return parse_with<ImportStatusQuery>(body, [](const json& doc) { return import_status_query(doc); });
}

Parsed<ImportStatusUpdate> parse_import_status_update(std::string_view body) {
    return parse_with<ImportStatusUpdate>(body, [](const json& doc) {
        ImportStatusUpdate update;
        update.where = import_status_query(doc);
        // The database checks the shape (InProgress, Done, Error); nesting is already bounded here.
        update.status = required(doc, "status", "status").dump(-1, ' ', false, json::error_handler_t::strict);
        return update;
    });
}

std::string format_re_attach_response(const std::vector<ReAttachTenant>& tenants) {
    ordered_json list = ordered_json::array();
    for (const auto& t : tenants) {
        list.push_back(
            {{"id", t.id},
             {"gen", t.generation ? ordered_json(*t.generation) : ordered_json(nullptr)},
             {"mode", t.mode},
             {"stripe_size", t.stripe_size ? ordered_json(*t.stripe_size) : ordered_json(nullptr)}});
    }
    return ordered_json{{"tenants", std::move(list)}}.dump();
}

std::string format_validate_response(const std::vector<ValidateResult>& tenants) {
    // Built by hand: a 10,000-entry answer is the hot path, and ids are hex digits and '-' only.
    std::string out;
    out.reserve(20 + tenants.size() * 64);
    out += R"({"tenants":[)";
    for (std::size_t i = 0; i < tenants.size(); ++i) {
        if (i > 0) out += ',';
        out += R"({"id":)";
        const std::string& id = tenants[i].id;
        // Ids come from the database's tenant_shard_id output: hex digits and '-', which need
        // no escaping. Anything else still goes through the JSON library.
        if (id.find_first_not_of("0123456789abcdef-") == std::string::npos) {
            out += '"';
            out += id;
            out += '"';
        } else {
            out += ordered_json(id).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
        }
        out += tenants[i].valid ? R"(,"valid":true})" : R"(,"valid":false})";
    }
    out += "]}";
    return out;
}

std::string format_validate_response(const std::vector<ValidateEntry>& entries,
                                     const std::vector<ValidateVerdict>& verdicts) {
    // The canonical text form is hex digits and '-' only: nothing to escape.
    constexpr std::string_view kValid = R"(","valid":true})", kInvalid = R"(","valid":false})";
    std::string out;
    out.reserve(16 + verdicts.size() * (8 + TenantShardId::kMaxTextLength + kInvalid.size()));
    out += R"({"tenants":[)";
    char text[TenantShardId::kMaxTextLength];
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
        out += i > 0 ? R"(,{"id":")" : R"({"id":")";
        out.append(text, entries.at(verdicts[i].entry).id.write_text(text));
        out += verdicts[i].valid ? kValid : kInvalid;
    }
    out += "]}";
    return out;
}

std::string format_attach_hook_response(std::optional<std::int32_t> generation) {
    // By hand, as the library would write it: no document for a one-number answer.
    return generation ? fmt::format(R"({{"gen":{}}})", *generation) : std::string(R"({"gen":null})");
}

std::string format_inspect_response(std::optional<std::pair<std::int32_t, std::int64_t>> attachment) {
    return ordered_json{{"attachment", attachment
                                           ? ordered_json::array({attachment->first, attachment->second})
                                           : ordered_json(nullptr)}}
        .dump();
}

std::string format_error(std::string_view message) {
    return ordered_json{{"msg", message}}.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace gencontrol::http

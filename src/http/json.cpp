// Parsing and checking of the shim's JSON request bodies, and formatting of its responses.
// Every refusal names the field it is about; unknown fields are ignored, as Neon's clients add
// fields.
#include "json.hpp"

#include <fmt/format.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "generation.hpp"

namespace gencontrol::http {
namespace {

using nlohmann::json;
// Responses keep their fields in the order DESIGN.md and Neon write them.
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

// The offending value, short enough for a log line and an error body.
std::string shown(const json& value) {
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    return text;
}

json parse_body(std::string_view body) {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
        // Parse again only to learn where it broke: the error path may be slow, the happy path not.
        try {
            json ignored = json::parse(body);
            (void)ignored;
        } catch (const json::parse_error& e) {
            std::string what = e.what();
            // nlohmann prefixes "[json.exception.parse_error.101] "; the reader needs only the
            // rest.
            if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
            throw FieldError{{400, "malformed JSON: " + what}};
        } catch (const std::exception&) {
        }
        throw FieldError{{400, "malformed JSON"}};
    }
    if (!doc.is_object()) throw FieldError{{400, "the request body must be a JSON object"}};
    return doc;
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

// Known optional fields are checked for type even though the database does not keep them.
void optional_port(const json& object, const char* key, std::string_view field) {
    if (const json* v = member(object, key)) integer_in(*v, field, 0, kMaxU16);
}

void optional_string(const json& object, const char* key, std::string_view field) {
    if (const json* v = member(object, key)) string_value(*v, field);
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
    optional_port(value, "listen_https_port", "register.listen_https_port");
    optional_string(value, "listen_grpc_addr", "register.listen_grpc_addr");
    optional_port(value, "listen_grpc_port", "register.listen_grpc_port");
    optional_string(value, "node_ip_addr", "register.node_ip_addr");
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

std::string format_attach_hook_response(std::optional<std::int32_t> generation) {
    return ordered_json{{"gen", generation ? ordered_json(*generation) : ordered_json(nullptr)}}.dump();
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

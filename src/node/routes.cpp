// The management API's routes: parse the path and body, call the node, format the answer.
// Errors are {"msg": ...}: 400 bad input, 404 unknown tenant or timeline, 409 wrong state.
#include "routes.hpp"

#include <nlohmann/json.hpp>

#include "gencontrol/remote_layout.hpp"
#include "serving/json_body.hpp"
#include "log.hpp"
#include "tenant_shard_id.hpp"

namespace gencontrol::node {
namespace {

using nlohmann::json;

serving::Reply reply(int status, const json& body) {
    serving::Reply r;
    r.status = status;
    r.body = body.dump();
    return r;
}

// The reason also goes to the access log's line for the request (the serving core writes it for
// every status >= 400), so an operator sees why a 500 happened, not only that it did.
serving::Reply error(int status, const std::string& message) {
    serving::Reply r = reply(status, {{"msg", message}});
    r.log_message = message;
    return r;
}

serving::Reply from_status(const Status& s) {
    switch (s.code()) {
        case Status::Code::kNotFound: return error(404, s.message());
        case Status::Code::kInvalidArgument: return error(400, s.message());
        case Status::Code::kConflict: return error(409, s.message());
        case Status::Code::kCancelled: return error(503, "shutting down");
        default: return error(500, s.message());
    }
}

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> parts;
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

// A request's body as a JSON object (an empty body reads as {}), or why not: see
// serving/json_body.hpp for what the shim and the node both refuse.
serving::JsonBody parse_body(const serving::Request& request) {
    if (request.body.empty()) return {json::object(), {}};
    serving::JsonBody body = serving::parse_json_body(request.body);
    if (body.error.empty() && !body.doc.is_object()) body.error = "the request body must be a JSON object";
    return body;
}

serving::Reply location_config(Node& node, const std::string& id, const serving::Request& request) {
    auto parsed = parse_body(request);
    if (!parsed.error.empty()) return error(400, parsed.error);
    const json& body = parsed.doc;
    if (!body.contains("mode") || !body["mode"].is_string()) return error(400, "mode: a string is required");
    auto mode = parse_mode(body["mode"].get<std::string>());
    if (!mode)
        return error(400,
                     "mode: not one of AttachedSingle, AttachedMulti, AttachedStale, Secondary, Detached");
    std::optional<Generation> generation;
    if (body.contains("generation") && !body["generation"].is_null()) {
        const auto& g = body["generation"];
        if (!g.is_number_unsigned() || g.get<std::uint64_t>() < 1 || g.get<std::uint64_t>() > 0x7fffffff) {
            return error(400, "generation: an integer 1..2147483647 is required");
        }
        generation = g.get<Generation>();
    }
    Status s = node.set_location(id, *mode, generation);
    if (!s.is_ok()) return from_status(s);
    return reply(200, json::object());
}

serving::Reply describe(Node& node, const std::string& id) {
    auto shard = node.tenant(id);
    if (!shard) return error(404, "tenant shard " + id + " is not held here");
    json timelines = json::object();
    for (const auto& [timeline, t] : shard->timelines()) {
        timelines[timeline] = {{"last_record_lsn", t.last_record_lsn},
                               {"remote_consistent_lsn", t.remote_consistent_lsn},
                               {"remote_consistent_lsn_visible", t.remote_consistent_lsn_visible}};
    }
    bool attached = shard->mode() != Mode::kSecondary;
    return reply(200, {{"id", id},
                       {"mode", mode_name(shard->mode())},
                       {"generation", attached ? json(shard->generation()) : json(nullptr)},
                       {"timelines", timelines}});
}

serving::Reply timeline_route(Node& node, const std::string& id, std::string timeline,
                              std::string_view action, const serving::Request& request) {
    if (!client::is_valid_timeline_id(timeline)) return error(400, "timeline id must be 32 hex digits");
    for (auto& c : timeline) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto shard = node.tenant(id);
    if (!shard) return error(404, "tenant shard " + id + " is not held here");
    std::string_view method = request.method;
    if (action == "write" && method == "POST") {
        auto parsed = parse_body(request);
        if (!parsed.error.empty()) return error(400, parsed.error);
        const json& body = parsed.doc;
        if (!body.contains("records") || !body["records"].is_array()) return error(400, "records: an array is required");
        std::vector<std::pair<std::string, std::string>> records;
        for (const auto& r : body["records"]) {
            if (!r.is_object() || !r.contains("key") || !r["key"].is_string() || !r.contains("value") ||
                !r["value"].is_string()) {
                return error(400, "records: each needs a string key and a string value");
            }
            records.emplace_back(r["key"].get<std::string>(), r["value"].get<std::string>());
        }
        auto lsn = shard->write(timeline, records);
        if (!lsn.is_ok()) return from_status(lsn.status());
        return reply(200, {{"lsn", lsn.value()}});
    }
    if (action == "checkpoint" && method == "POST") {
        auto progress = shard->checkpoint(timeline);
        if (!progress.is_ok()) return from_status(progress.status());
        return reply(200,
                     {{"remote_consistent_lsn", progress.value().remote_consistent_lsn},
                      {"remote_consistent_lsn_visible", progress.value().remote_consistent_lsn_visible}});
    }
    if (action == "compact" && method == "POST") {
        auto replaced = shard->compact(timeline);
        if (!replaced.is_ok()) return from_status(replaced.status());
        return reply(200, {{"layers_replaced", replaced.value()}});
    }
    if (action == "read" && method == "GET") {
        auto view = shard->read(timeline);
        if (!view.is_ok()) return from_status(view.status());
        return reply(200, {{"lsn", view.value().first}, {"records", view.value().second}});
    }
    if (action == "write" || action == "checkpoint" || action == "compact" || action == "read") {
        return error(405, "method not allowed");
    }
    return error(404, "no such route");
}

serving::Reply route(Node& node, const serving::Request& request) {
    auto parts = split_path(request.path);
    std::string_view method = request.method;
    if (request.path == "/status") {
        if (method != "GET") return error(405, "method not allowed");
        return reply(200, {{"status", "ok"}, {"ready", node.ready()}});
    }
    if (request.path == "/metrics") {
        if (method != "GET") return error(405, "method not allowed");
        serving::Reply r;
        r.body = node.metrics_text();
        r.content_type = "text/plain; version=0.0.4";
        return r;
    }
    if (parts.size() < 2 || parts[0] != "v1") return error(404, "no such route");
    if (!node.ready()) {
        auto r = error(503, "the node is starting: re-attach and deletion queue recovery are not finished");
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (parts.size() == 3 && parts[1] == "deletion_queue" && parts[2] == "flush") {
        if (method != "POST") return error(405, "method not allowed");
        auto parsed = parse_body(request);
        if (!parsed.error.empty()) return error(400, parsed.error);
        const json& body = parsed.doc;
        bool execute = true;
        if (body.contains("execute")) {
            if (!body["execute"].is_boolean()) return error(400, "execute: a boolean is required");
            execute = body["execute"].get<bool>();
        }
        if (Status s = node.flush_deletions(execute); !s.is_ok()) return from_status(s);
        auto c = node.deletion_counters();
        return reply(200, {{"submitted", c.submitted},
                           {"validated", c.validated},
                           {"executed", c.executed},
                           {"dropped", c.dropped}});
    }
    if (parts[1] != "tenant" || parts.size() < 3) return error(404, "no such route");
    auto parsed = parse_tenant_shard_id(parts[2]);
    if (!parsed.id) return error(400, "tenant_shard_id: " + parsed.error);
    std::string id = parsed.id->to_string();
    if (parts.size() == 3) {
        if (method != "GET") return error(405, "method not allowed");
        return describe(node, id);
    }
    if (parts.size() == 4 && parts[3] == "location_config") {
        if (method != "PUT") return error(405, "method not allowed");
        return location_config(node, id, request);
    }
    if (parts.size() == 6 && parts[3] == "timeline")
        return timeline_route(node, id, std::string(parts[4]), parts[5], request);
    return error(404, "no such route");
}

}  // namespace

serving::Reply handle(Node& node, const serving::Request& request) {
    serving::Reply r;
    // Caught here rather than by the serving core, so the exception's message is logged with the
    // request (its method and path) and not as "internal error".
    try {
        r = route(node, request);
    } catch (const std::exception& e) {
        r = error(500, std::string("internal error: ") + e.what());
    }
    // The serving core's access line keeps only the start of the reason; a server error gets a
    // line of its own with all of it (bounded: a message may quote a key or a path).
    if (r.status >= 500 && r.status != 503) {
        log_line("request failed: " + std::string(request.method) + " " +
                 std::string(request.path.substr(0, 512)) + " answered " + std::to_string(r.status) + ": " +
                 r.log_message.substr(0, 4096));
    }
    return r;
}

}  // namespace gencontrol::node

// attach-hook calls gen_attach (or gen_detach for node_id null) and inspect calls gen_inspect,
// each answered as Neon's storage controller answers it.
#include "debug_routes.hpp"

#include <string>

#include "json.hpp"

namespace gencontrol::http {

Reply attach_hook_route(RouteContext& context) {
    auto parsed = parse_attach_hook_request(context.body);
    if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
    const AttachHookRequest& request = *parsed.value;
    std::string tenant = request.tenant.to_string();

    auto lease = context.pool.acquire();
    if (!request.node_id) {
        lease.run(Statement::detach, {tenant});
        return json_reply(200, format_attach_hook_response(std::nullopt));
    }
    DbValue min_generation;
    if (request.generation_override) min_generation = std::to_string(*request.generation_override);
    DbRows rows = lease.run(Statement::attach, {tenant, std::to_string(*request.node_id), min_generation});
    auto generation = static_cast<std::int32_t>(db_integer(rows.at(0).at(0)));
    return json_reply(200, format_attach_hook_response(generation));
}

Reply inspect_route(RouteContext& context) {
    auto parsed = parse_inspect_request(context.body);
    if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
    DbRows rows = context.pool.acquire().run(Statement::inspect, {parsed.value->tenant.to_string()});

    // As Neon's controller answers: an attachment only while the shard has both a generation
    // and a node; a detached or unknown shard has none.
    std::optional<std::pair<std::int32_t, std::int64_t>> attachment;
    if (!rows.empty() && rows[0].at(0) && rows[0].at(1))
        attachment.emplace(static_cast<std::int32_t>(db_integer(rows[0][0])), db_integer(rows[0][1]));
    return json_reply(200, format_inspect_response(attachment));
}

}  // namespace gencontrol::http

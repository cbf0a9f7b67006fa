// The upcalls a pageserver makes: re-attach when it starts, validate before it deletes anything.
// Each is one database call; validate sends its whole batch as two arrays in a single statement,
// together with the batches of other validate requests waiting at the same time.
#include <string>

#include "json.hpp"
#include "routes.hpp"

namespace gencontrol::http {

Reply re_attach_route(RouteContext& context) {
    auto parsed = parse_re_attach_request(context.body);
    if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
    const ReAttachRequest& request = *parsed.value;

    auto lease = context.pool.acquire();
    if (const auto& r = request.registration) {
        // Registration is an idempotent upsert, so a retried re-attach may repeat it freely.
        lease.run(Statement::register_node,
                  {std::to_string(r->node_id), r->listen_http_addr, std::to_string(r->listen_http_port),
                   r->listen_pg_addr, std::to_string(r->listen_pg_port), r->availability_zone_id});
    }
    DbRows rows = lease.run(Statement::re_attach, {std::to_string(request.node_id)});

    std::vector<ReAttachTenant> tenants;
    tenants.reserve(rows.size());
    for (const auto& row : rows) {
        ReAttachTenant t;
        t.id = row.at(0).value_or("");
        if (row.at(1)) t.generation = db_integer(row[1]);
        t.mode = row.at(2).value_or("");
        if (row.at(3)) t.stripe_size = db_integer(row[3]);
        tenants.push_back(std::move(t));
    }
    return json_reply(200, format_re_attach_response(tenants));
}

Reply validate_route(RouteContext& context) {
    auto parsed = parse_validate_request(context.body);
    if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
    const auto& entries = parsed.value->tenants;
    if (entries.empty()) return json_reply(200, format_validate_response({}));
    // One gen_validate call, shared with the validate requests that arrived alongside.
    std::vector<ValidateVerdict> verdicts = context.validate.validate(entries);
    return json_reply(200, format_validate_response(entries, verdicts));
}

}  // namespace gencontrol::http

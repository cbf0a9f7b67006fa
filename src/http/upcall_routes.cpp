// The upcalls a pageserver makes: re-attach when it starts, validate before it deletes anything.
// Each is one database call; validate shares its call with the validate requests waiting with it.
#include "upcall_routes.hpp"

#include <fmt/format.h>

#include <string>

#include "json.hpp"
#include "serving/log.hpp"

namespace gencontrol::http {
namespace log = serving::log;

namespace {

DbValue text(const std::optional<std::string>& value) {
    return value;
}

DbValue number(const std::optional<std::int32_t>& value) {
    if (!value) return std::nullopt;
    return std::to_string(*value);
}

}  // namespace

Reply re_attach_route(RouteContext& context) {
    auto parsed = parse_re_attach_request(context.body);
    if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
    const ReAttachRequest& request = *parsed.value;
    // A token bound to a node speaks for that node only: no other process may take its identity.
    if (context.claims && context.claims->node_id && *context.claims->node_id != request.node_id)
        return error_reply(403, fmt::format("Forbidden: this token is bound to node {}, not node {}",
                                            *context.claims->node_id, request.node_id));

    auto lease = context.pool.acquire();
    if (const auto& r = request.registration) {
        // Idempotent for the same addresses; different ones are 23505 (409): a second process
        // claiming a live node's id is the node-level split brain.
        lease.run(Statement::register_node,
                  {std::to_string(r->node_id), r->listen_http_addr, std::to_string(r->listen_http_port),
                   r->listen_pg_addr, std::to_string(r->listen_pg_port), text(r->availability_zone_id),
                   number(r->listen_https_port), text(r->listen_grpc_addr), number(r->listen_grpc_port),
                   text(r->node_ip_addr)});
    }
    DbRows rows;
    try {
        rows = lease.run(Statement::re_attach, {std::to_string(request.node_id)});
    } catch (const DbError& e) {
        // As Neon's controller answers: an unknown node without `register` holds nothing. Any
        // other answer would make the pageserver retry forever and never start.
        if (request.registration || e.kind() != DbErrorKind::query || e.sqlstate() != "P0002") throw;
        log::warn("re-attach of a node that is not registered and sent no register: no tenants",
                  {{"node_id", request.node_id}});
        return json_reply(200, format_re_attach_response({}));
    }

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
    std::vector<ValidateVerdict> verdicts = context.validate.validate(entries);
    return json_reply(200, format_validate_response(entries, verdicts));
}

bool take_validate(RouteContext& context, const Answer& answer) {
    // Parsing costs about 0.1 µs per byte; larger bodies would hold up every other connection.
    constexpr std::size_t kLoopBodyBytes = 64 * 1024;
    if (context.body.size() > kLoopBodyBytes) return false;
    auto parsed = parse_validate_request(context.body);
    if (!parsed.value) {
        answer([&] { return error_reply(parsed.error.status, parsed.error.message); });
        return true;
    }
    if (parsed.value->tenants.empty()) {
        answer([] { return json_reply(200, format_validate_response({})); });
        return true;
    }
    context.validate.submit(std::move(parsed.value->tenants),
                            [answer](const std::vector<ValidateEntry>& entries, std::vector<ValidateVerdict> verdicts,
                                     std::exception_ptr error) {
                                answer([&] {
                                    if (error) std::rethrow_exception(error);
                                    return json_reply(200, format_validate_response(entries, verdicts));
                                });
                            });
    return true;
}

}  // namespace gencontrol::http

// attach-hook calls gen_attach (or gen_detach for node_id null) and inspect calls gen_inspect,
// each answered as Neon's storage controller answers it. attach-hook's call runs on the event loop,
// and attaches that arrive while the database is busy share one (attach_batch.hpp).
#include "debug_routes.hpp"

#include <string>
#include <utility>

#include "json.hpp"

namespace gencontrol::http {
namespace {

// The one statement an attach-hook runs, and its parameters.
std::pair<Statement, std::vector<DbValue>> attach_hook_call(const AttachHookRequest& request) {
    std::string tenant = request.tenant.to_string();
    if (!request.node_id) return {Statement::detach, {tenant}};
    DbValue min_generation;
    if (request.generation_override) min_generation = std::to_string(*request.generation_override);
    return {Statement::attach, {tenant, std::to_string(*request.node_id), min_generation}};
}

// {"gen": N} after an attach, {"gen": null} after a detach.
Reply generation_reply(std::optional<std::int32_t> generation) {
    return json_reply(200, format_attach_hook_response(generation));
}

Reply attach_hook_reply(const AttachHookRequest& request, const DbRows& rows) {
    if (!request.node_id) return generation_reply(std::nullopt);
    return generation_reply(static_cast<std::int32_t>(db_integer(rows.at(0).at(0))));
}

}  // namespace

Reply attach_hook_route(RouteContext& context) {
    auto parsed = parse_attach_hook_request(context.body);
    if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
    auto [statement, params] = attach_hook_call(*parsed.value);
    DbRows rows = context.pool.acquire().run(statement, params);
    return attach_hook_reply(*parsed.value, rows);
}

bool take_attach_hook(RouteContext& context, const Answer& answer) {
    // A body a node sends is under 200 bytes; a large one is parsed on a worker, off the loop.
    constexpr std::size_t kLoopBodyBytes = 64 * 1024;
    if (!context.calls || context.body.size() > kLoopBodyBytes) return false;
    auto parsed = parse_attach_hook_request(context.body);
    if (!parsed.value) {
        answer([&] { return error_reply(parsed.error.status, parsed.error.message); });
        return true;
    }
    const AttachHookRequest& request = *parsed.value;
    // Every answer below is formatted when the commit's result arrives: an attach is acknowledged
    // only once gen_attach has returned, which is after its commit was flushed.
    if (context.attach && request.node_id && !request.generation_override) {
        context.attach->submit(request.tenant, *request.node_id,
                               [answer](std::int32_t generation, std::exception_ptr error) {
                                   answer([&] {
                                       if (error) std::rethrow_exception(error);
                                       return generation_reply(generation);
                                   });
                               });
        return true;
    }
    auto [statement, params] = attach_hook_call(request);
    return context.calls->call(statement, params, [answer, request](DbRows rows, std::exception_ptr error) {
        answer([&] {
            if (error) std::rethrow_exception(error);
            return attach_hook_reply(request, rows);
        });
    });
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

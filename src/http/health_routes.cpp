// /status and /live answer from the process alone, so they keep answering while the database is
// away; /ready asks the database; /metrics renders the counters with the pool's current use.
#include "health_routes.hpp"

namespace gencontrol::http {

Reply status_route(RouteContext&) {
    return json_reply(200, R"({"status":"ok"})");
}

Reply live_route(RouteContext&) {
    // Answered by a worker: a live answer proves requests are being served, not only accepted.
    return json_reply(200, R"({"status":"live"})");
}

Reply ready_route(RouteContext& context) {
    // DbError (unreachable, standby, extension missing) leaves as a 503 with Retry-After.
    DbRows rows = context.pool.acquire().run(Statement::ready, {});
    if (!rows.empty() && rows[0].at(0).value_or("t") == "f") return json_reply(200, R"({"status":"ready"})");
    throw DbError(DbErrorKind::not_primary, "25006", "the database is a hot standby or read-only");
}

Reply metrics_route(RouteContext& context) {
    Reply reply;
    reply.body = context.metrics.render(context.pool.stats());
    reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return reply;
}

}  // namespace gencontrol::http

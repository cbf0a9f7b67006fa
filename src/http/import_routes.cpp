// (1.1) GET reads a shard's import status, POST records it; both through the extension's fenced
// functions. A stale generation is 400 on GET and 412 on POST, with Neon's "Invalid generation".
#include "import_routes.hpp"

#include <limits>

#include "json.hpp"

namespace gencontrol::http {
namespace {

bool is_stale_generation(const DbError& e) {
    return e.kind() == DbErrorKind::query && e.sqlstate() == "22023" &&
           std::string_view(e.what()).rfind("invalid generation", 0) == 0;
}

}  // namespace

Reply import_status_route(RouteContext& context) {
    const bool update = context.method == "POST";
    const int stale_status = update ? 412 : 400;
    ImportStatusQuery where;
    std::string status;
    if (update) {
        auto parsed = parse_import_status_update(context.body);
        if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
        where = parsed.value->where;
        status = std::move(parsed.value->status);
    } else {
        auto parsed = parse_import_status_query(context.body);
        if (!parsed.value) return error_reply(parsed.error.status, parsed.error.message);
        where = *parsed.value;
    }
    // A u32 above what an integer column holds was never issued: it cannot be current.
    if (where.generation > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()))
        return error_reply(stale_status, "Invalid generation");

    std::vector<DbValue> params = {where.tenant.to_string(), where.timeline, std::to_string(where.generation)};
    if (update) params.emplace_back(status);
    try {
        DbRows rows = context.pool.acquire().run(update ? Statement::import_set_status : Statement::import_status,
                                                 params);
        if (update) return json_reply(200, "null");
        // jsonb's text form is JSON: the status goes out as the pageserver reported it.
        return json_reply(200, rows.at(0).at(0).value_or("null"));
    } catch (const DbError& e) {
        if (is_stale_generation(e)) {
            Reply reply = error_reply(stale_status, "Invalid generation");
            reply.log_message = e.what();
            return reply;
        }
        throw;
    }
}

}  // namespace gencontrol::http

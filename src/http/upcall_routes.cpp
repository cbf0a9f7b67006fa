// The upcalls a pageserver makes: re-attach when it starts, validate before it deletes anything.
// Each is one database call; validate sends its whole batch as two arrays in a single statement.
#include <string>

#include "generation.hpp"
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

    // Array literals need no quoting: ids are hex digits and '-', generations are digits.
    std::vector<std::string> ids;
    ids.reserve(entries.size());
    std::string id_array = "{";
    std::string generation_array = "{";
    id_array.reserve(entries.size() * 38 + 2);
    generation_array.reserve(entries.size() * 11 + 2);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) {
            id_array += ',';
            generation_array += ',';
        }
        ids.push_back(entries[i].id.to_string());
        id_array += ids.back();
        // A u32 generation outside 1..2^31-1 was never issued, so it is answered valid:false below.
        // It still goes to the database (as any integer) to learn whether the shard is known:
        // unknown shards must be left out of the answer.
        auto generation = static_cast<std::int64_t>(entries[i].generation);
        generation_array += std::to_string(is_valid_generation(generation) ? generation : kMaxGeneration);
    }
    id_array += '}';
    generation_array += '}';

    DbRows rows = context.pool.acquire().run(Statement::validate, {id_array, generation_array});

    // Rows come in input order with unknown shards omitted, so each row matches the next
    // request entry with its id.
    std::vector<ValidateResult> results;
    results.reserve(rows.size());
    std::size_t next = 0;
    for (const auto& row : rows) {
        const std::string tenant = row.at(0).value_or("");
        while (next < ids.size() && ids[next] != tenant) ++next;
        if (next == ids.size())
            throw std::runtime_error("gen_validate answered for tenant " + tenant + " out of order");
        bool valid = row.at(1).value_or("f") == "t" &&
                     is_valid_generation(static_cast<std::int64_t>(entries[next].generation));
        results.push_back({tenant, valid});
        ++next;
    }
    return json_reply(200, format_validate_response(results));
}

}  // namespace gencontrol::http

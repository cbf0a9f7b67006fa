// gen_attach and gen_detach: the single-shard writers. An attach locks the node (so that
// node_delete cannot race it), then the shard row, and issues the next generation durably.
#include <string>

#include "durability.hpp"
#include "generation.hpp"
#include "guards.hpp"
#include "node_lock.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// Read after lock_node_for_attach(): a node_delete that committed before is seen, and one
// that starts later waits for this transaction.
spi::Statement node_status("SELECT status FROM gencontrol.nodes WHERE node_id = $1", "b");

spi::Statement lock_shard(
    "SELECT generation, deleted_at IS NOT NULL, attached_node FROM gencontrol.tenant_shards "
    "WHERE id OPERATOR(gencontrol.=) $1 FOR NO KEY UPDATE",
    "T");

spi::Statement insert_shard(
    "INSERT INTO gencontrol.tenant_shards (id, generation, attached_node) VALUES ($1, $2, $3) "
    "ON CONFLICT (id) DO NOTHING",
    "Tib");

// The update and its log entry in one statement: one executor start instead of two.
spi::Statement update_shard(R"SQL(
WITH updated AS (
    UPDATE gencontrol.tenant_shards SET generation = $2, attached_node = $3, deleted_at = NULL, updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id)
INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
SELECT id, $4, $2, $3, 'attach', session_user FROM updated
)SQL",
                            "Tibi");

spi::Statement detach_shard(
    "UPDATE gencontrol.tenant_shards SET attached_node = NULL, updated_at = now() "
    "WHERE id OPERATOR(gencontrol.=) $1",
    "T");

spi::Statement log_change(
    "INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role) "
    "VALUES ($1, $2, $3, $4, $5, session_user)",
    "Tiibt");

void log_generation(Datum tenant, std::optional<std::int32_t> old_generation,
                    std::optional<std::int32_t> new_generation, std::optional<std::int64_t> node,
                    const char* operation) {
    Datum op = pg::call([&] { return CStringGetTextDatum(operation); });
    Datum values[] = {tenant, Int32GetDatum(old_generation.value_or(0)),
                      Int32GetDatum(new_generation.value_or(0)), Int64GetDatum(node.value_or(0)), op};
    char nulls[] = {' ', old_generation ? ' ' : 'n', new_generation ? ' ' : 'n', node ? ' ' : 'n', ' ', '\0'};
    log_change.run(values, nulls, false);
}

void require_attachable_node(std::int64_t node) {
    gencontrol::lock_node_for_attach(node);
    Datum args[] = {Int64GetDatum(node)};
    if (node_status.run(args, nullptr, false) == 0)
        pg::raise(ERRCODE_NO_DATA_FOUND, "node " + std::to_string(node) + " is not registered", "",
                  "Register it first with gencontrol.node_register().");
    bool is_null;
    Datum status = spi::value(0, 1, &is_null);
    std::string status_text = pg::call([&] { return TextDatumGetCString(status); });
    if (status_text == "deleted")
        pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                  "node " + std::to_string(node) + " was deleted; nothing can be attached to it");
}

std::int32_t attach(Datum tenant, std::int64_t node, std::optional<std::int32_t> min_generation) {
    require_attachable_node(node);
    // Two tries: a concurrent first attach of the same new shard makes our insert a no-op,
    // and the second lock then finds its row.
    for (int attempt = 0; attempt < 2; ++attempt) {
        Datum key[] = {tenant};
        std::optional<std::int32_t> old_generation;
        bool exists = lock_shard.run(key, nullptr, false) > 0;
        if (exists) old_generation = spi::int32_value(0, 1);

        auto next = gencontrol::next_generation(old_generation, min_generation);
        if (!next)
            pg::raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                      "tenant shard " + gencontrol::tenant_shard_id_text(tenant) +
                          " has used up its generations (2147483647)",
                      "Generations never wrap: a wrapped generation would be lower than one already issued.",
                      "Give the tenant shard a new id (for example a new shard count).");

        if (exists) {
            Datum row[] = {tenant, Int32GetDatum(*next), Int64GetDatum(node),
                           Int32GetDatum(old_generation.value_or(0))};
            char nulls[] = {' ', ' ', ' ', old_generation ? ' ' : 'n', '\0'};
            update_shard.run(row, nulls, false);
        } else {
            Datum row[] = {tenant, Int32GetDatum(*next), Int64GetDatum(node)};
            if (insert_shard.run(row, nullptr, false) == 0) continue;
            log_generation(tenant, std::nullopt, *next, node, "attach");
        }
        gencontrol::issue_durably();
        return *next;
    }
    pg::raise(ERRCODE_T_R_SERIALIZATION_FAILURE,
              "tenant shard " + gencontrol::tenant_shard_id_text(tenant) +
                  " was created concurrently and is not yet visible to this transaction",
              "", "Retry the transaction.");
}

}  // namespace

GENCONTROL_FUNCTION(gen_attach) {
    return pg::entry([&] {
        gencontrol::require_primary("gen_attach");
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
            pg::raise(ERRCODE_NULL_VALUE_NOT_ALLOWED, "gen_attach: tenant and node must not be NULL");
        std::optional<std::int32_t> min_generation;
        if (!PG_ARGISNULL(2)) {
            min_generation = PG_GETARG_INT32(2);
            if (!gencontrol::is_valid_generation(*min_generation))
                pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                          "gen_attach: min_generation must be between 1 and 2147483647, got " +
                              std::to_string(*min_generation));
        }
        spi::connect();
        std::int32_t generation = attach(PG_GETARG_DATUM(0), PG_GETARG_INT64(1), min_generation);
        spi::finish();
        return Int32GetDatum(generation);
    });
}

GENCONTROL_FUNCTION(gen_detach) {
    return pg::entry([&] {
        gencontrol::require_primary("gen_detach");
        if (PG_ARGISNULL(0)) pg::raise(ERRCODE_NULL_VALUE_NOT_ALLOWED, "gen_detach: tenant must not be NULL");
        Datum tenant = PG_GETARG_DATUM(0);
        spi::connect();
        Datum key[] = {tenant};
        // Detaching an unknown, deleted or detached shard is already done: callers retry.
        if (lock_shard.run(key, nullptr, false) > 0 && !spi::bool_value(0, 2)) {
            auto generation = spi::int32_value(0, 1);
            auto node = spi::int64_value(0, 3);
            if (node) {
                detach_shard.run(key, nullptr, false);
                log_generation(tenant, generation, generation, node, "detach");
                gencontrol::issue_durably();
            }
        }
        spi::finish();
        PG_RETURN_VOID();
    });
}

// gen_attach and gen_detach on a database still at 1.0 (until ALTER EXTENSION UPDATE), whose
// tenant_shards table holds each current generation. An attach locks the node, then the shard row.
#include <optional>
#include <string>

#include "attach_refusals.hpp"
#include "durability.hpp"
#include "generation.hpp"
#include "generation_log.hpp"
#include "guards.hpp"
#include "node_lock.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// The column default of tenant_shards.stripe_size (Neon's default stripe, in pages), for an
// attach that creates a shard without naming one.
constexpr std::int32_t kDefaultStripeSize = 2048;

// Read after lock_node_shared(): a node_delete that committed before is seen, and one
// that starts later waits for this transaction.
spi::Statement node_status("SELECT status FROM gencontrol.nodes WHERE node_id = $1", "b");

spi::Statement lock_shard(
    "SELECT generation, deleted_at IS NOT NULL, attached_node, stripe_size FROM gencontrol.tenant_shards "
    "WHERE id OPERATOR(gencontrol.=) $1 FOR NO KEY UPDATE",
    "T");

// Returns one row when it created the shard, none when a concurrent attach created it first.
spi::Statement insert_shard(gencontrol::logged_change("", R"SQL(
    INSERT INTO gencontrol.tenant_shards (id, generation, attached_node, stripe_size) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO NOTHING
    RETURNING id AS tenant, NULL::integer AS old_generation, generation AS new_generation,
              attached_node AS node, 'attach'::text AS operation)SQL",
                                                      "SELECT 1 FROM changes", "generation_log"),
                            "Tibi");

// The update, its log entry and the removal of the node from the shard's secondary locations
// (a node is never both) in one statement: one executor start instead of three. stripe_size is
// only ever set here when a deleted shard comes back; for a live one it is NULL or unchanged.
spi::Statement update_shard(gencontrol::logged_change(R"SQL(
no_longer_secondary AS (
    DELETE FROM gencontrol.secondary_locations
     WHERE tenant OPERATOR(gencontrol.=) $1 AND node = $3))SQL",
                                                      R"SQL(
    UPDATE gencontrol.tenant_shards
       SET generation = $2, attached_node = $3, stripe_size = coalesce($5, stripe_size), deleted_at = NULL,
           updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id AS tenant, $4::integer AS old_generation, generation AS new_generation,
              attached_node AS node, 'attach'::text AS operation)SQL",
                                                      "SELECT 1 FROM changes", "generation_log"),
                            "Tibii");

spi::Statement detach_shard(gencontrol::logged_change("", R"SQL(
    UPDATE gencontrol.tenant_shards SET attached_node = NULL, updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id AS tenant, generation AS old_generation, generation AS new_generation,
              $2::bigint AS node, 'detach'::text AS operation)SQL",
                                                      "SELECT 1 FROM changes", "generation_log"),
                            "Tb");

void require_attachable_node(std::int64_t node) {
    gencontrol::lock_node_shared(node);
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

}  // namespace

std::int32_t gencontrol::v1_0::attach(Datum tenant, std::int64_t node, std::optional<std::int32_t> min_generation,
                                      std::optional<std::int32_t> stripe_size) {
    require_attachable_node(node);
    // Two tries: a concurrent first attach of the same new shard makes our insert a no-op,
    // and the second lock then finds its row.
    for (int attempt = 0; attempt < 2; ++attempt) {
        Datum key[] = {tenant};
        std::optional<std::int32_t> old_generation;
        bool exists = lock_shard.run(key, nullptr, false) > 0;
        if (exists) {
            old_generation = spi::int32_value(0, 1);
            bool live = !spi::bool_value(0, 2);
            std::int32_t stored_stripe = spi::int32_value(0, 4).value_or(kDefaultStripeSize);
            if (live && stripe_size && *stripe_size != stored_stripe)
                gencontrol::refuse_stripe_size_change(tenant, stored_stripe, *stripe_size);
        }

        auto next = gencontrol::next_generation(old_generation, min_generation);
        if (!next)
            gencontrol::refuse_used_up_generations(tenant);

        if (exists) {
            Datum row[] = {tenant, Int32GetDatum(*next), Int64GetDatum(node),
                           Int32GetDatum(old_generation.value_or(0)), Int32GetDatum(stripe_size.value_or(0))};
            char nulls[] = {' ', ' ', ' ', old_generation ? ' ' : 'n', stripe_size ? ' ' : 'n', '\0'};
            update_shard.run(row, nulls, false);
        } else {
            Datum row[] = {tenant, Int32GetDatum(*next), Int64GetDatum(node),
                           Int32GetDatum(stripe_size.value_or(kDefaultStripeSize))};
            if (insert_shard.run(row, nullptr, false) == 0) continue;
        }
        gencontrol::issue_durably();
        return *next;
    }
    pg::raise(ERRCODE_T_R_SERIALIZATION_FAILURE,
              "tenant shard " + gencontrol::tenant_shard_id_text(tenant) +
                  " was created concurrently and is not yet visible to this transaction",
              "", "Retry the transaction.");
}

void gencontrol::v1_0::detach(Datum tenant) {
    Datum key[] = {tenant};
    // Detaching an unknown, deleted or detached shard is already done: callers retry.
    if (lock_shard.run(key, nullptr, false) > 0 && !spi::bool_value(0, 2)) {
        if (auto node = spi::int64_value(0, 3)) {
            Datum args[] = {tenant, Int64GetDatum(*node)};
            detach_shard.run(args, nullptr, false);
            gencontrol::issue_durably();
        }
    }
}

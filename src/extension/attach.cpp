// gen_attach and gen_detach: the single-shard writers. They lock the nodes the shard moves between,
// then write its row (shard_lock.hpp), and materialise its current generation (base + the node's epoch growth).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attach_refusals.hpp"
#include "durability.hpp"
#include "generation.hpp"
#include "generation_log.hpp"
#include "guards.hpp"
#include "layout.hpp"
#include "node_epochs.hpp"
#include "prologue.hpp"
#include "shard_lock.hpp"
#include "shard_lookup.hpp"
#include "statements.hpp"
#include "table_writer.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// The column default of tenant_shards_stored.stripe_size (Neon's default stripe, in pages), for
// an attach that creates a shard without naming one.
constexpr std::int32_t kDefaultStripeSize = 2048;

// Returns one row when it created the shard, none when a concurrent attach created it first.
spi::Statement insert_shard(gencontrol::logged_change("", R"SQL(
    INSERT INTO gencontrol.tenant_shards_stored (id, base_generation, attached_node, stripe_size, base_epoch)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (id) DO NOTHING
    RETURNING id AS tenant, NULL::integer AS old_generation, base_generation AS new_generation,
              attached_node AS node, 'attach'::text AS operation)SQL",
                                                      "SELECT 1 FROM changes"),
                            "Tibib");

// A node that becomes the shard's attached node stops being one of its secondary locations (a
// node is never both). Run only when the shard's row lists the node in secondary_nodes: most
// attaches go to a node that is not one.
spi::Statement remove_secondary(
    "DELETE FROM gencontrol.secondary_locations WHERE tenant OPERATOR(gencontrol.=) $1 AND node = $2", "Tb");

// A detached shard keeps its current generation as base_generation: nothing adds to it then.
spi::Statement detach_shard(gencontrol::logged_change("", R"SQL(
    UPDATE gencontrol.tenant_shards_stored
       SET attached_node = NULL, base_generation = $3, base_epoch = NULL, updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id AS tenant, base_generation AS old_generation, base_generation AS new_generation,
              $2::bigint AS node, 'detach'::text AS operation)SQL",
                                                      "SELECT 1 FROM changes"),
                            "Tbi");

std::optional<std::int32_t> optional_int32(FunctionCallInfo fcinfo, int argument) {
    if (PG_ARGISNULL(argument)) return std::nullopt;
    return PG_GETARG_INT32(argument);
}

// The attach target: registered and not deleted; returns its epoch (its lock is held).
std::int64_t attachable_node_epoch(std::int64_t node, const std::optional<gencontrol::NodeState>& state) {
    if (!state)
        pg::raise(ERRCODE_NO_DATA_FOUND, "node " + std::to_string(node) + " is not registered", "",
                  "Register it first with gencontrol.node_register().");
    if (state->deleted)
        pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                  "node " + std::to_string(node) + " was deleted; nothing can be attached to it");
    return state->epoch;
}

// Whether the shard's secondary_nodes (LockedRow::secondary_nodes) lists `node`: only then can
// secondary_locations hold a row to remove. A list of another shape than tenant_set_secondaries
// writes (more dimensions, NULLs) counts as listing every node.
bool lists_node(Datum secondary_nodes, std::int64_t node) {
    if (secondary_nodes == 0) return false;
    ArrayType* nodes = reinterpret_cast<ArrayType*>(DatumGetPointer(secondary_nodes));  // detoasted by row_in
    if (ARR_NDIM(nodes) != 1 || ARR_HASNULL(nodes)) return true;
    const auto* values = reinterpret_cast<const std::int64_t*>(ARR_DATA_PTR(nodes));
    return std::find(values, values + ARR_DIMS(nodes)[0], node) != values + ARR_DIMS(nodes)[0];
}

// secondary_nodes without `node` (and without NULLs); std::nullopt (NULL) when nothing is left.
std::optional<Datum> without_node(Datum secondary_nodes, std::int64_t node) {
    return pg::call([&]() -> std::optional<Datum> {
        Datum* values;
        bool* nulls;
        int count;
        deconstruct_array(reinterpret_cast<ArrayType*>(DatumGetPointer(secondary_nodes)), INT8OID, sizeof(std::int64_t),
                          FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &values, &nulls, &count);
        int kept = 0;
        for (int i = 0; i < count; ++i)
            if (!nulls[i] && DatumGetInt64(values[i]) != node) values[kept++] = values[i];
        if (kept == 0) return std::nullopt;
        return PointerGetDatum(construct_array(values, kept, INT8OID, sizeof(std::int64_t), FLOAT8PASSBYVAL,
                                               TYPALIGN_DOUBLE));
    });
}

// The attach's write to an existing shard, without SQL: the row gets the new generation stored
// with the node's epoch now (so it is the shard's current generation), and the history its row.
// The statement this replaces (an UPDATE, the log INSERT and the secondary DELETE in one) cost
// more to start than to run; see bench/ANALYSIS.md. What that statement's guard trigger and
// CHECK constraints would check holds by construction, and is checked here: the generation
// grows (also when the shard moves), the row is attached with an epoch, not deleted. False,
// with nothing written, when `locked` is false and another transaction changed the row since
// `shard` was read (the caller then locks the row and tries again).
bool write_attached_row(Datum tenant, const gencontrol::LockedShard& shard, std::int32_t next, std::int64_t node,
                        std::int64_t epoch, std::optional<std::int32_t> stripe_size, bool locked) {
    if (shard.generation && next <= *shard.generation)
        pg::raise(ERRCODE_CHECK_VIOLATION,
                  "generation of tenant shard " + gencontrol::tenant_shard_id_text(tenant) +
                      " may only increase: " + std::to_string(*shard.generation) + " -> " + std::to_string(next));
    gencontrol::TableWriter shards;
    shards.open("tenant_shards_stored");
    int columns = shards.descriptor()->natts;
    std::vector<Datum> values(columns, Datum(0));
    std::unique_ptr<bool[]> nulls(new bool[columns]()), replace(new bool[columns]());
    auto set = [&](const char* name, std::optional<Datum> value) {
        AttrNumber at = shards.column(name);
        values[at - 1] = value.value_or(Datum(0));
        nulls[at - 1] = !value;
        replace[at - 1] = true;
    };
    set("base_generation", Int32GetDatum(next));
    set("attached_node", Int64GetDatum(node));
    set("base_epoch", Int64GetDatum(epoch));
    // Set only when a deleted shard comes back; for a live one it is NULL or unchanged.
    if (stripe_size) set("stripe_size", Int32GetDatum(*stripe_size));
    set("deleted_at", std::nullopt);
    set("updated_at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
    // A node that becomes the attached node stops being a secondary location (a node is never
    // both): the row stops listing it, and its secondary_locations row goes below.
    bool was_secondary = lists_node(shard.secondary_nodes, node);
    if (was_secondary) set("secondary_nodes", without_node(shard.secondary_nodes, node));
    ItemPointerData tid = shard.tid;
    bool written = true;
    if (locked)
        shards.update(&tid, values.data(), nulls.get(), replace.get());
    else
        written = shards.update_if_latest(&tid, values.data(), nulls.get(), replace.get());
    shards.close();
    if (!written) return false;
    // After the row: the secondary_locations rows hang off the shard's row (shard_lock.hpp).
    if (was_secondary) {
        Datum args[] = {tenant, Int64GetDatum(node)};
        remove_secondary.run(args, nullptr, false);
    }
    gencontrol::append_log_entry({tenant, shard.generation, next, node, "attach"});
    // Later statements of this transaction (and later SPI calls of this one) see the change.
    pg::call([] { CommandCounterIncrement(); });
    return true;
}

// The attach itself, with the shard's nodes locked and its row either locked (write_locked_shard)
// or read (try_unlocked_shard). std::nullopt: a concurrent first attach of the same new shard
// made our insert a no-op, or (unlocked) a concurrent writer changed the row first; the caller
// tries again and then finds the row as it is.
std::optional<std::int32_t> attach_to(const gencontrol::LockedShard& shard, Datum tenant, std::int64_t node,
                                      std::optional<std::int32_t> min_generation,
                                      std::optional<std::int32_t> stripe_size, bool locked) {
    std::int64_t epoch = attachable_node_epoch(node, shard.target);
    if (shard.exists && shard.live && stripe_size && *stripe_size != shard.stripe_size)
        gencontrol::refuse_stripe_size_change(tenant, shard.stripe_size, *stripe_size);

    auto next = gencontrol::next_generation(shard.generation, min_generation);
    if (!next)
        gencontrol::refuse_used_up_generations(tenant);

    if (shard.exists) {
        if (!write_attached_row(tenant, shard, *next, node, epoch, stripe_size, locked)) return std::nullopt;
    } else {
        Datum row[] = {tenant, Int32GetDatum(*next), Int64GetDatum(node),
                       Int32GetDatum(stripe_size.value_or(kDefaultStripeSize)), Int64GetDatum(epoch)};
        if (insert_shard.run(row, nullptr, false) == 0) return std::nullopt;
    }
    gencontrol::issue_durably();
    return *next;
}

// An existing shard in READ COMMITTED is first tried without a row lock (try_unlocked_shard).
// A new shard, a try that lost its row to another writer, and any shard under a transaction
// snapshot are locked and written in one subtransaction, so the lock is not a MultiXact shared
// with the parent transaction.
std::int32_t attach(Datum tenant, std::int64_t node, std::optional<std::int32_t> min_generation,
                    std::optional<std::int32_t> stripe_size) {
    if (!IsolationUsesXactSnapshot()) {
        auto done = gencontrol::try_unlocked_shard(tenant, node, [&](const gencontrol::LockedShard& shard) {
            return attach_to(shard, tenant, node, min_generation, stripe_size, false);
        });
        if (done) return *done;
    }
    return gencontrol::write_locked_shard(
        tenant, node, gencontrol::ShardRowLock::no_key_update, [&](const gencontrol::LockedShard& shard) {
            return attach_to(shard, tenant, node, min_generation, stripe_size, true);
        });
}

}  // namespace

GENCONTROL_FUNCTION(gen_attach) {
    gencontrol::begin_call(fcinfo, "gen_attach", {0, 1}, "tenant and node");
    auto min_generation = optional_int32(fcinfo, 2);
    if (min_generation && !gencontrol::is_valid_generation(*min_generation))
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE, "gen_attach: min_generation must be between 1 and " +
                                                       std::to_string(gencontrol::kMaxGeneration) + ", got " +
                                                       std::to_string(*min_generation));
    // Called through the 1.0 SQL signature (three arguments) there is no fourth argument.
    auto stripe_size = PG_NARGS() > 3 ? optional_int32(fcinfo, 3) : std::nullopt;
    if (stripe_size && *stripe_size <= 0)
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                  "gen_attach: stripe_size must be positive, got " + std::to_string(*stripe_size));
    spi::connect();
    std::int32_t generation = gencontrol::layout() == gencontrol::Layout::v1_0
                                  ? gencontrol::v1_0::attach(PG_GETARG_DATUM(0), PG_GETARG_INT64(1), min_generation,
                                                             stripe_size)
                                  : attach(PG_GETARG_DATUM(0), PG_GETARG_INT64(1), min_generation, stripe_size);
    spi::finish();
    return Int32GetDatum(generation);
}

GENCONTROL_FUNCTION(gen_detach) {
    gencontrol::begin_call(fcinfo, "gen_detach", {0}, "tenant");
    Datum tenant = PG_GETARG_DATUM(0);
    spi::connect();
    if (gencontrol::layout() == gencontrol::Layout::v1_0) {
        gencontrol::v1_0::detach(tenant);
        spi::finish();
        return Datum(0);
    }
    gencontrol::write_locked_shard(
        tenant, std::nullopt, gencontrol::ShardRowLock::no_key_update,
        [&](const gencontrol::LockedShard& shard) {
            // Detaching an unknown, deleted or detached shard is already done: callers retry.
            if (shard.exists && shard.live && shard.node && shard.generation) {
                Datum args[] = {tenant, Int64GetDatum(*shard.node), Int32GetDatum(*shard.generation)};
                detach_shard.run(args, nullptr, false);
                gencontrol::issue_durably();
            }
            return std::optional<bool>(true);
        });
    spi::finish();
    return Datum(0);
}

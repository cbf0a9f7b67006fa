// The guard triggers: a shard's current generation only grows whoever writes the rows (even the
// table owner with a direct UPDATE), and the rows it depends on are never removed.
#include <optional>
#include <string>

#include "generation.hpp"
#include "guards.hpp"
#include "node_epochs.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

std::optional<std::int64_t> column_value(HeapTuple tuple, TupleDesc desc, const char* name, bool is_int32) {
    bool is_null;
    Datum value = heap_getattr(tuple, SPI_fnumber(desc, name), desc, &is_null);
    if (is_null) return std::nullopt;
    return is_int32 ? std::int64_t{DatumGetInt32(value)} : DatumGetInt64(value);
}

// A stored row's current generation, with the node epochs this transaction sees now.
std::optional<std::int64_t> current_of(HeapTuple tuple, TupleDesc desc, gencontrol::NodeEpochs& epochs) {
    auto base = column_value(tuple, desc, "base_generation", true);
    auto node = column_value(tuple, desc, "attached_node", false);
    if (!base || !node) return base;
    auto base_epoch = column_value(tuple, desc, "base_epoch", false);
    auto state = epochs.find(*node);
    if (!state || !base_epoch) return std::nullopt;
    return gencontrol::current_generation(*base, *base_epoch, state->epoch);
}

[[noreturn]] void refuse(Datum id, const std::string& what) {
    pg::raise(ERRCODE_CHECK_VIOLATION, "generation of tenant shard " + gencontrol::tenant_shard_id_text(id) + " " + what,
              "A generation that was handed out must never be handed out again.",
              "Use gencontrol.gen_attach() or gencontrol.gen_re_attach() to issue a new generation.");
}

// 1.1: the trigger's WHEN clause lets through the writes that are safe on their face; this
// checks the others (moves, detaches, direct writes) against the nodes' epochs.
void check_stored_update(TriggerData* trigger) {
    TupleDesc desc = trigger->tg_relation->rd_att;
    HeapTuple old_row = trigger->tg_trigtuple, new_row = trigger->tg_newtuple;
    bool id_null;
    Datum id = heap_getattr(old_row, SPI_fnumber(desc, "id"), desc, &id_null);
    gencontrol::NodeEpochs epochs;
    epochs.open(pg::call([] { return GetLatestSnapshot(); }));
    auto old_generation = current_of(old_row, desc, epochs);
    auto new_generation = current_of(new_row, desc, epochs);
    epochs.close();
    if (!old_generation) return;  // a shard's first generation
    std::string change = std::to_string(*old_generation) + " -> " +
                         (new_generation ? std::to_string(*new_generation) : std::string("NULL"));
    if (!new_generation || *new_generation < *old_generation) refuse(id, "may only increase: " + change);
    if (*new_generation > gencontrol::kMaxGeneration) refuse(id, "would pass the last generation: " + change);
    auto old_node = column_value(old_row, desc, "attached_node", false);
    auto new_node = column_value(new_row, desc, "attached_node", false);
    if (new_node && new_node != old_node && *new_generation == *old_generation)
        refuse(id, "must increase when it moves to node " + std::to_string(*new_node) + ": " + change);
}

[[noreturn]] void refuse_removal(const char* what, const char* why, const char* hint) {
    pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, std::string("rows of gencontrol.") + what + " are never removed",
              why, hint);
}

// An epoch that grows by a direct write must not take a shard of the node past the end.
spi::Statement shard_past_the_end(R"SQL(
SELECT id FROM gencontrol.tenant_shards_stored
 WHERE attached_node = $1 AND base_generation::bigint + ($2 - base_epoch) > $3
 LIMIT 1
)SQL",
                                  "bbb");

void check_node_update(TriggerData* trigger) {
    TupleDesc desc = trigger->tg_relation->rd_att;
    auto node = column_value(trigger->tg_trigtuple, desc, "node_id", false);
    auto new_node = column_value(trigger->tg_newtuple, desc, "node_id", false);
    if (node != new_node)
        pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "the id of a node never changes",
                  "Its attached shards' generations are counted from its epoch.");
    auto old_epoch = column_value(trigger->tg_trigtuple, desc, "epoch", false).value_or(0);
    auto new_epoch = column_value(trigger->tg_newtuple, desc, "epoch", false).value_or(0);
    if (new_epoch < old_epoch)
        pg::raise(ERRCODE_CHECK_VIOLATION,
                  "epoch of node " + std::to_string(*node) + " may only increase: " + std::to_string(old_epoch) +
                      " -> " + std::to_string(new_epoch),
                  "Every attached shard's generation would go down with it.",
                  "gencontrol.gen_re_attach() bumps a node's epoch.");
    if (gencontrol::epoch_vouched_for(*node, new_epoch)) return;  // gen_re_attach checked its shards
    spi::connect();
    Datum args[] = {Int64GetDatum(*node), Int64GetDatum(new_epoch), Int64GetDatum(gencontrol::kMaxGeneration)};
    bool past = shard_past_the_end.run(args, nullptr, true) > 0;
    std::string shard = past ? pg::call([] {
        bool is_null;
        return gencontrol::tenant_shard_id_text(spi::value(0, 1, &is_null));
    })
                             : std::string();
    spi::finish();
    if (past)
        pg::raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                  "epoch " + std::to_string(new_epoch) + " of node " + std::to_string(*node) +
                      " would take tenant shard " + shard + " past the last generation (" +
                      std::to_string(gencontrol::kMaxGeneration) + ")",
                  "", "gencontrol.gen_re_attach() detaches such a shard first.");
}

}  // namespace

GENCONTROL_FUNCTION(tenant_shards_guard) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        pg::raise(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "tenant_shards_guard: must be called as a trigger");
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)) {
        // 1.0's table has a generation column; 1.1's storage a base_generation.
        if (SPI_fnumber(trigger->tg_relation->rd_att, "base_generation") > 0)
            check_stored_update(trigger);
        else
            gencontrol::v1_0::check_generation_update(trigger);
        return PointerGetDatum(trigger->tg_newtuple);
    }
    // The guard is attached to UPDATE, DELETE and TRUNCATE only: this is a DELETE or TRUNCATE.
    refuse_removal("tenant_shards", "A removed row would let its generations be handed out again.",
                   "Use gencontrol.tenant_delete(): it keeps the generation as a tombstone.");
}

GENCONTROL_FUNCTION(nodes_guard) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        pg::raise(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED, "nodes_guard: must be called as a trigger");
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)) {
        check_node_update(trigger);
        return PointerGetDatum(trigger->tg_newtuple);
    }
    refuse_removal("nodes", "Its attached shards' generations are counted from its epoch.",
                   "Use gencontrol.node_delete(): it keeps the node as a deleted tombstone.");
}

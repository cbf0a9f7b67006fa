// The tenant_shards guard trigger: a generation only grows, whoever writes the row (even the
// table owner with a direct UPDATE), and rows are never removed, so no number is reused.
#include <string>

#include "guards.hpp"
#include "tenant_shard_id_type.hpp"

namespace pg = gencontrol::pg;

namespace {

void check_update(TriggerData* trigger) {
    TupleDesc desc = trigger->tg_relation->rd_att;
    int generation_column = SPI_fnumber(desc, "generation");
    int id_column = SPI_fnumber(desc, "id");
    bool old_null, new_null, id_null;
    Datum old_value = heap_getattr(trigger->tg_trigtuple, generation_column, desc, &old_null);
    Datum new_value = heap_getattr(trigger->tg_newtuple, generation_column, desc, &new_null);
    if (old_null) return;  // a shard's first generation
    // The trigger is AFTER UPDATE OF generation WHEN (NEW <= OLD or NULL): it fires only on
    // an offending write, and a generation in the SET list that did not grow is one.
    std::int32_t old_generation = DatumGetInt32(old_value);
    if (!new_null && DatumGetInt32(new_value) > old_generation) return;

    Datum id = heap_getattr(trigger->tg_trigtuple, id_column, desc, &id_null);
    std::string shard = id_null ? "?" : gencontrol::tenant_shard_id_text(id);
    std::string new_text = new_null ? "NULL" : std::to_string(DatumGetInt32(new_value));
    pg::raise(ERRCODE_CHECK_VIOLATION,
              "generation of tenant shard " + shard +
                  " may only increase: " + std::to_string(old_generation) + " -> " + new_text,
              "A generation that was handed out must never be handed out again.",
              "Use gencontrol.gen_attach() or gencontrol.gen_re_attach() to issue a new generation.");
}

}  // namespace

GENCONTROL_FUNCTION(tenant_shards_guard) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        pg::raise(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                  "tenant_shards_guard: must be called as a trigger");
    auto* trigger = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event)) {
        check_update(trigger);
        return PointerGetDatum(trigger->tg_newtuple);
    }
    // The guard is attached to UPDATE, DELETE and TRUNCATE only: this is a DELETE or TRUNCATE.
    pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, "rows of gencontrol.tenant_shards are never removed",
              "A removed row would let its generations be handed out again.",
              "Use gencontrol.tenant_delete(): it keeps the generation as a tombstone.");
}

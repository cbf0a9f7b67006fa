// The 1.0 guard on tenant_shards.generation, for a database still at 1.0 (until ALTER EXTENSION
// UPDATE): an UPDATE that lowers a generation or restates it is refused.
#include <string>

#include "guards.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;

void gencontrol::v1_0::check_generation_update(TriggerData* trigger) {
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

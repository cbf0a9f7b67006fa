// gencontrol.so's module magic and load-time set-up.
// Loading the library registers the transaction callback that makes generations durable and
// the cache invalidation callbacks behind the saved plans, the direct index probes and the
// node locks, and the settings.
#include "attached_shards.hpp"
#include "durability.hpp"
#include "generation_log.hpp"
#include "layout.hpp"
#include "node_epochs.hpp"
#include "node_lock.hpp"
#include "pg.hpp"
#include "read_barrier.hpp"
#include "relation_oids.hpp"
#include "shard_lookup.hpp"
#include "statements.hpp"
#include "table_writer.hpp"

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
    gencontrol::register_durability_callback();
    gencontrol::register_relation_oids_invalidation();
    gencontrol::spi::register_type_invalidation();
    gencontrol::register_shard_lookup_invalidation();
    gencontrol::register_layout_invalidation();
    gencontrol::register_node_epochs_invalidation();
    gencontrol::register_attached_shards_invalidation();
    gencontrol::register_table_writer_invalidation();
    gencontrol::register_session_user_invalidation();
    // Superuser only: a session that turned it off could be answered from a cut-off primary's
    // stale state, which is what the barrier exists to prevent.
    DefineCustomBoolVariable(
        "gencontrol.validate_read_barrier",
        "gen_validate waits until a synchronous standby confirms fresh WAL before it answers.",
        "With synchronous_standby_names set, a primary cut off while its standby is promoted "
        "then answers nothing instead of a superseded generation. Off only for control runs.",
        &gencontrol::validate_read_barrier, true, PGC_SUSET, 0, nullptr, nullptr, nullptr);
}
}

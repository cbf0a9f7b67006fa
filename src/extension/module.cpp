// gencontrol.so's module magic and load-time set-up.
// Loading the library registers the transaction callback that makes generations durable and
// the cache invalidation callbacks behind the saved plans, the direct index probes and the
// node locks.
#include "durability.hpp"
#include "node_lock.hpp"
#include "pg.hpp"
#include "shard_lookup.hpp"
#include "statements.hpp"

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
    gencontrol::register_durability_callback();
    gencontrol::spi::register_type_invalidation();
    gencontrol::register_shard_lookup_invalidation();
    gencontrol::register_node_lock_invalidation();
}
}

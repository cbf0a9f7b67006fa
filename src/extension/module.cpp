// gencontrol.so's module magic and load-time set-up.
// Loading the library registers the transaction callback that makes generations durable.
#include "durability.hpp"
#include "pg.hpp"

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
void _PG_init(void) {
    gencontrol::register_durability_callback();
}
}

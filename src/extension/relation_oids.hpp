// The OIDs of gencontrol's own tables, indexes and sequences by name, looked up once per backend
// and forgotten when PostgreSQL invalidates the relation (DROP, ALTER, DROP and CREATE EXTENSION).
#pragma once

#include "pg.hpp"

namespace gencontrol {

// The OID of relation `name` in schema gencontrol; raises (internal error) when it is missing.
// Runs inside pg::call: may raise. `name` must be a string literal (it is kept, not copied).
Oid relation_oid(const char* name);

// Registers the relcache invalidation callback; called once from _PG_init.
void register_relation_oids_invalidation();

}  // namespace gencontrol

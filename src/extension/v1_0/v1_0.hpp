// The SQL entry points' bodies for a database whose gencontrol schema is still 1.0's (the
// library is replaced before ALTER EXTENSION UPDATE runs): the 1.0 statements, kept as they were.
#pragma once

#include "pg.hpp"

namespace gencontrol::v1_0 {

Datum gen_attach(FunctionCallInfo fcinfo);
Datum gen_detach(FunctionCallInfo fcinfo);
Datum gen_re_attach(FunctionCallInfo fcinfo);
Datum gen_advance_all(FunctionCallInfo fcinfo);

// gen_advance_all under REPEATABLE READ or SERIALIZABLE, either layout: `seen` shards with a
// generation in the transaction's snapshot (all locked and raised), `all` in the latest one.
// Shard rows are never deleted, so more in the latest means shards the call could not raise:
// 40001 (advance_all.cpp).
void refuse_unseen_shards(std::int64_t seen, std::int64_t all);

// The 1.0 guard trigger's check of an UPDATE of tenant_shards.generation.
void check_generation_update(TriggerData* trigger);

}  // namespace gencontrol::v1_0

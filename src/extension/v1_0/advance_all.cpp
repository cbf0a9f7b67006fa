// gen_advance_all on a database still at 1.0 (until ALTER EXTENSION UPDATE): lifts every
// generation (tombstones too) in one logged transaction.
#include <string>

#include "advance_all.hpp"
#include "durability.hpp"
#include "generation.hpp"
#include "generation_log.hpp"
#include "guards.hpp"
#include "statements.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// Locks every shard with a generation in key order. A shard that can take the whole margin
// ($1) is raised by it ('advance_all'); one that cannot is raised to the last generation ($2),
// or left there, and detached ('exhausted'): one exhausted shard must not block the restore
// procedure for all the others (finding 3 of issue 9). A shard already at the last generation
// keeps it: the guard refuses an equal value, so its generation is not in that row's SET at all.
spi::Statement advance(gencontrol::logged_change(R"SQL(
locked AS MATERIALIZED (
    SELECT id, generation, attached_node, generation::bigint + $1 > $2 AS exhausted
      FROM gencontrol.tenant_shards
     WHERE generation IS NOT NULL ORDER BY id FOR NO KEY UPDATE),
raised AS (
    UPDATE gencontrol.tenant_shards t
       SET generation = least(l.generation::bigint + $1, $2)::integer,
           attached_node = CASE WHEN l.exhausted THEN NULL ELSE t.attached_node END, updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation < $2
    RETURNING t.id, l.generation, t.generation AS new_generation, l.attached_node, l.exhausted),
stuck AS (
    UPDATE gencontrol.tenant_shards t
       SET attached_node = NULL, updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation = $2 AND l.attached_node IS NOT NULL
    RETURNING t.id, l.generation, l.generation AS new_generation, l.attached_node, true AS exhausted))SQL",
                                                 R"SQL(
    SELECT id AS tenant, generation AS old_generation, new_generation, attached_node AS node,
           CASE WHEN exhausted THEN 'exhausted' ELSE 'advance_all' END AS operation, exhausted
      FROM raised
    UNION ALL
    SELECT id, generation, new_generation, attached_node, 'exhausted', exhausted FROM stuck)SQL",
                                                 R"SQL(
SELECT 0 AS part, NULL::gencontrol.tenant_shard_id, NULL::bigint, count(*) FROM changes
UNION ALL
SELECT 1, tenant, node, NULL FROM changes WHERE exhausted
ORDER BY 1, 2)SQL", "generation_log"),
                       "ii");

// Shards with a generation, counted under the transaction's snapshot (what `advance` locked)
// and under the latest one.
spi::Statement count_shards("SELECT count(*) FROM gencontrol.tenant_shards WHERE generation IS NOT NULL", "");

}  // namespace

Datum gencontrol::v1_0::gen_advance_all(FunctionCallInfo fcinfo) {
    // gen_advance_all (advance_all.cpp) made the call's checks (primary, a positive margin).
    std::int32_t margin = PG_GETARG_INT32(0);
    spi::connect();
    Datum args[] = {Int32GetDatum(margin), Int32GetDatum(gencontrol::kMaxGeneration)};
    // Row 0 counts the shards changed; the rows after it are the exhausted ones.
    std::uint64_t rows = advance.run(args, nullptr, false);
    std::int64_t changed = spi::int64_value(0, 4).value_or(0);
    gencontrol::warn_exhausted_shards(rows);
    if (IsolationUsesXactSnapshot()) {
        // After `advance` ran: its row locks keep the counted rows where they are.
        count_shards.run(nullptr, nullptr, true);
        std::int64_t seen = spi::int64_value(0, 1).value_or(0);
        count_shards.run(nullptr, nullptr, true, pg::call([] { return GetLatestSnapshot(); }));
        gencontrol::refuse_unseen_shards(seen, spi::int64_value(0, 1).value_or(0));
    }
    gencontrol::issue_durably();
    spi::finish();
    return Int64GetDatum(changed);
}

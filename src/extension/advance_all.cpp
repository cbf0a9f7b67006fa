// gen_advance_all: after a restore from backup, lifts every generation (tombstones too) above
// any that may have been handed out after the backup, in one logged transaction.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "advance_all.hpp"
#include "durability.hpp"
#include "generation.hpp"
#include "generation_log.hpp"
#include "guards.hpp"
#include "layout.hpp"
#include "node_lock.hpp"
#include "prologue.hpp"
#include "statements.hpp"
#include "subtransaction.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// Every node, in key order: its lock is taken shared before any shard row, so a gen_re_attach
// (which holds it exclusively while it bumps the epoch) either committed before and its epoch
// is read below, or waits until this transaction is done.
spi::Statement all_nodes("SELECT node_id FROM gencontrol.nodes ORDER BY node_id", "");

// Every shard with a generation, row-locked in key order before its generation is read below:
// a join to nodes inside the locking statement could be re-checked, after a concurrent attach
// moved the shard, against the old node's row.
spi::Statement lock_shards(
    "SELECT 1 FROM gencontrol.tenant_shards_stored WHERE base_generation IS NOT NULL ORDER BY id "
    "FOR NO KEY UPDATE",
    "");

// The same shards, counted in the latest snapshot: shard rows are never deleted (a trigger refuses),
// so more of them there than lock_shards locked means some it could not see.
spi::Statement count_shards(
    "SELECT count(*) FROM gencontrol.tenant_shards_stored WHERE base_generation IS NOT NULL", "");

// Raises every locked shard (the locks make its row and its node's epoch stand still, so a
// fresh snapshot reads its current generation). Adding the margin ($1) to base_generation
// raises the current generation by it whatever the node's epoch ('advance_all'); a shard that
// cannot take the whole margin is raised to the last generation ($2), or left there, and
// detached ('exhausted'): one exhausted shard must not block the restore procedure for all the
// others (finding 3 of issue 9).
spi::Statement advance(gencontrol::logged_change(R"SQL(
locked AS MATERIALIZED (
    SELECT s.id, s.attached_node,
           CASE WHEN s.attached_node IS NULL THEN s.base_generation::bigint
                ELSE s.base_generation::bigint + (n.epoch - s.base_epoch) END AS generation
      FROM gencontrol.tenant_shards_stored s
      LEFT JOIN gencontrol.nodes n ON n.node_id = s.attached_node
     WHERE s.base_generation IS NOT NULL),
raised AS (
    UPDATE gencontrol.tenant_shards_stored t
       SET base_generation = CASE WHEN l.generation + $1 > $2 THEN $2 ELSE t.base_generation + $1 END,
           attached_node = CASE WHEN l.generation + $1 > $2 THEN NULL ELSE t.attached_node END,
           base_epoch = CASE WHEN l.generation + $1 > $2 THEN NULL ELSE t.base_epoch END,
           updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation < $2
    RETURNING t.id, l.generation::integer AS generation, least(l.generation + $1, $2)::integer AS new_generation,
              l.attached_node, l.generation + $1 > $2 AS exhausted),
stuck AS (
    UPDATE gencontrol.tenant_shards_stored t
       SET attached_node = NULL, base_generation = $2, base_epoch = NULL, updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation >= $2 AND l.attached_node IS NOT NULL
    RETURNING t.id, l.generation::integer AS generation, $2 AS new_generation, l.attached_node,
              true AS exhausted))SQL",
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
ORDER BY 1, 2)SQL"),
                       "ii");

// A restore procedure runs once; retries only happen while nodes are being registered.
constexpr int kMaxAttempts = 16;

// Every registered node id, ascending (all_nodes orders them), read with a fresh snapshot (not
// read-only, which would reuse the calling statement's): the second read must see a node
// registered after the first.
std::vector<std::int64_t> node_ids() {
    std::uint64_t nodes = all_nodes.run(nullptr, nullptr, false);
    std::vector<std::int64_t> ids;
    for (std::uint64_t row = 0; row < nodes; ++row) ids.push_back(spi::int64_value(row, 1).value_or(0));
    return ids;
}

// Under REPEATABLE READ or SERIALIZABLE the statements here read the transaction's snapshot: a
// shard created (or first attached) after it is neither locked nor raised, and would silently
// keep a generation the restore means to lift. Such a call fails as a serialization failure (a
// retry takes a new snapshot); a shard updated after the snapshot already fails its row lock so.
void refuse_shards_past_the_snapshot(std::uint64_t locked) {
    if (!IsolationUsesXactSnapshot()) return;
    count_shards.run(nullptr, nullptr, true, pg::call([] { return GetLatestSnapshot(); }));
    gencontrol::refuse_unseen_shards(static_cast<std::int64_t>(locked), spi::int64_value(0, 1).value_or(0));
}

}  // namespace

void gencontrol::warn_exhausted_shards(std::uint64_t rows) {
    for (std::uint64_t row = 1; row < rows; ++row) {
        bool is_null;
        std::string name = tenant_shard_id_text(spi::value(row, 2, &is_null));
        auto node = spi::int64_value(row, 3);
        std::string where = node ? " and was detached from node " + std::to_string(*node) : "";
        pg::call([&] {
            ereport(WARNING,
                    (errmsg("gencontrol: tenant shard %s could not take the whole margin: it is at the "
                            "last generation (%d)%s",
                            name.c_str(), static_cast<int>(kMaxGeneration), where.c_str()),
                     errhint("Give the tenant shard a new id (for example a new shard count).")));
        });
    }
}

void gencontrol::refuse_unseen_shards(std::int64_t seen, std::int64_t all) {
    if (all <= seen) return;
    pg::raise(ERRCODE_T_R_SERIALIZATION_FAILURE,
              "gen_advance_all: " + std::to_string(all - seen) +
                  " tenant shard(s) got a generation after this transaction's snapshot was taken",
              "Under REPEATABLE READ or SERIALIZABLE gen_advance_all sees only the shards of its snapshot, "
              "and a restore must raise every shard.",
              "Retry the transaction, or call gen_advance_all in a READ COMMITTED transaction.");
}

GENCONTROL_FUNCTION(gen_advance_all) {
    gencontrol::begin_call(fcinfo, "gen_advance_all", {0}, "margin");
    std::int32_t margin = PG_GETARG_INT32(0);
    if (margin <= 0)
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                  "gen_advance_all: margin must be positive, got " + std::to_string(margin));
    // The call and its argument are checked above for both layouts.
    if (gencontrol::layout() == gencontrol::Layout::v1_0) return gencontrol::v1_0::gen_advance_all(fcinfo);
    spi::connect();
    // Node locks (every node, ascending), then every shard row, then the update, in one
    // subtransaction (shard_lock.hpp's lock order): a locked row attached to a node registered
    // after the node list was read would have its epoch read without that node's lock, so then
    // everything is rolled back, which gives the rows back, and taken again with the new list.
    std::int64_t changed =
        gencontrol::retry_in_subtransaction([&](int attempt) -> std::optional<std::int64_t> {
            if (attempt >= kMaxAttempts)
                pg::raise(ERRCODE_T_R_SERIALIZATION_FAILURE,
                          "gen_advance_all: nodes kept being registered while it locked every shard (" +
                              std::to_string(attempt) + " attempts)",
                          "", "Retry the transaction.");
            std::vector<std::int64_t> locked = node_ids();
            for (std::int64_t node : locked) gencontrol::lock_node_shared(node);
            std::uint64_t locked_shards = lock_shards.run(nullptr, nullptr, false);
            for (std::int64_t node : node_ids())
                if (!std::binary_search(locked.begin(), locked.end(), node)) return std::nullopt;
            refuse_shards_past_the_snapshot(locked_shards);
            Datum args[] = {Int32GetDatum(margin), Int32GetDatum(gencontrol::kMaxGeneration)};
            // Row 0 counts the shards changed; the rows after it are the exhausted ones.
            std::uint64_t rows = advance.run(args, nullptr, false);
            gencontrol::warn_exhausted_shards(rows);
            return spi::int64_value(0, 4).value_or(0);
        });
    gencontrol::issue_durably();
    spi::finish();
    return Int64GetDatum(changed);
}

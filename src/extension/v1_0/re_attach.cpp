// gen_re_attach on a database still at 1.0 (until ALTER EXTENSION UPDATE): every shard row of
// the node gets a new generation in one set-oriented statement that locks rows in key order.
#include <optional>
#include <string>
#include <vector>

#include "durability.hpp"
#include "generation.hpp"
#include "generation_log.hpp"
#include "guards.hpp"
#include "prologue.hpp"
#include "re_attach.hpp"
#include "statements.hpp"
#include "subtransaction.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// The node's row, locked against node_delete, node_set_status and a concurrent re-attach.
// owner_role (1.1) is read through to_jsonb so that a database still at 1.0, whose nodes
// table has no such column, keeps working with this library until ALTER EXTENSION UPDATE.
spi::Statement lock_node_row(
    "SELECT status, to_jsonb(n) ->> 'owner_role' FROM gencontrol.nodes n WHERE node_id = $1 FOR NO KEY "
    "UPDATE",
    "b");

spi::Statement activate_node(
    "UPDATE gencontrol.nodes SET status = 'active', updated_at = now() WHERE node_id = $1", "b");

// Locks all of the node's shards in key order, bumps those below the last generation ($2),
// logs every bump, and also returns the shards that cannot grow (exhausted = true) so they
// can be detached.
spi::Statement bump_attached(gencontrol::logged_change(R"SQL(
locked AS MATERIALIZED (
    SELECT id, generation FROM gencontrol.tenant_shards
     WHERE attached_node = $1 AND generation IS NOT NULL
     ORDER BY id FOR NO KEY UPDATE))SQL",
                                                       R"SQL(
    UPDATE gencontrol.tenant_shards t
       SET generation = l.generation + 1, updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation < $2
    RETURNING t.id AS tenant, l.generation AS old_generation, t.generation AS new_generation,
              $1 AS node, 're_attach'::text AS operation, t.stripe_size)SQL",
                                                       R"SQL(
SELECT tenant, new_generation, stripe_size, false AS exhausted FROM changes
UNION ALL
SELECT id, generation, NULL, true FROM locked WHERE generation = $2
ORDER BY 1)SQL", "generation_log"),
                             "bi");

// The fast path: one UPDATE walks the node's (attached_node, id) index, so rows are locked in
// primary-key order, bumped, logged and returned in a single pass. A shard at the last
// generation makes generation + 1 overflow (22003): the caller then rolls this back and takes
// bump_attached.
spi::Statement bump_in_one_pass(
    gencontrol::logged_change("", R"SQL(
    UPDATE gencontrol.tenant_shards
       SET generation = generation + 1, updated_at = now()
     WHERE attached_node = $1 AND generation IS NOT NULL
    RETURNING id AS tenant, generation - 1 AS old_generation, generation AS new_generation,
              $1 AS node, 're_attach'::text AS operation, stripe_size)SQL",
                              "SELECT tenant, new_generation, stripe_size, false FROM changes", "generation_log"),
    "b");

spi::Statement detach_exhausted(gencontrol::logged_change("", R"SQL(
    UPDATE gencontrol.tenant_shards SET attached_node = NULL, updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id AS tenant, generation AS old_generation, generation AS new_generation,
              $2 AS node, 'exhausted'::text AS operation)SQL",
                                                          "SELECT 1 FROM changes", "generation_log"),
                                "Tb");

// A node is never both attached and a secondary location of a shard; the second condition
// keeps a row that 1.0 allowed (finding 2 of issue 9) from being listed twice.
spi::Statement secondaries(R"SQL(
SELECT s.tenant, t.stripe_size
  FROM gencontrol.secondary_locations s
  JOIN gencontrol.tenant_shards t ON t.id OPERATOR(gencontrol.=) s.tenant
 WHERE s.node = $1 AND t.deleted_at IS NULL AND t.attached_node IS DISTINCT FROM $1
 ORDER BY s.tenant
)SQL",
                           "b");

// Runs bump_in_one_pass in a subtransaction with the planner held to index scans (which
// return the node's shards in key order). Returns the row count, or nullopt when a shard's
// generation is exhausted and nothing was changed.
std::optional<std::uint64_t> bump_fast(Datum* node_arg) {
    gencontrol::Subtransaction subtransaction;
    std::uint64_t rows = 0;
    try {
        // A rollback of the subtransaction also pops this GUC level; a successful pass pops it below.
        int guc_level = pg::call([] {
            int level = NewGUCNestLevel();
            for (const char* name : {"enable_seqscan", "enable_bitmapscan"})
                (void)set_config_option(name, "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
            return level;
        });
        rows = bump_in_one_pass.run(node_arg, nullptr, false);
        pg::call([&] { AtEOXact_GUC(true, guc_level); });
    } catch (const pg::PgError& error) {
        subtransaction.rollback();
        if (error.data->sqlerrcode != ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE) throw;
        // Handled here, so nobody else will free it.
        FreeErrorData(error.data);
        return std::nullopt;
    } catch (...) {
        subtransaction.rollback();
        throw;
    }
    subtransaction.release();
    return rows;
}

// Locks the node's row and checks that it may re-attach now; returns whether it was active.
bool lock_node_for_re_attach(std::int64_t node, Datum* node_arg) {
    return gencontrol::check_re_attaching_node(node, lock_node_row.run(node_arg, nullptr, false)) == "active";
}

}  // namespace

Datum gencontrol::v1_0::gen_re_attach(FunctionCallInfo fcinfo) {
    gencontrol::begin_call(fcinfo, "gen_re_attach", {0}, "node");
    std::int64_t node = PG_GETARG_INT64(0);
    pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Datum attached_single = pg::call([] { return CStringGetTextDatum("AttachedSingle"); });
    Datum secondary = pg::call([] { return CStringGetTextDatum("Secondary"); });

    spi::connect();
    Datum node_arg[] = {Int64GetDatum(node)};
    if (!lock_node_for_re_attach(node, node_arg)) activate_node.run(node_arg, nullptr, false);

    auto fast = bump_fast(node_arg);
    Datum node_and_max[] = {Int64GetDatum(node), Int32GetDatum(gencontrol::kMaxGeneration)};
    std::uint64_t rows = fast ? *fast : bump_attached.run(node_and_max, nullptr, false);
    std::vector<Datum> exhausted;
    pg::call([&] {
        for (std::uint64_t row = 0; row < rows; ++row) {
            bool nulls[4] = {false, false, false, false};
            Datum values[4];
            values[0] = spi::value(row, 1, &nulls[0]);
            values[1] = spi::value(row, 2, &nulls[1]);
            values[3] = spi::value(row, 3, &nulls[3]);
            bool is_exhausted = DatumGetBool(spi::value(row, 4, &nulls[2]));
            if (is_exhausted) continue;
            values[2] = attached_single;
            nulls[2] = false;
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    for (std::uint64_t row = 0; row < rows; ++row) {
        if (spi::bool_value(row, 4))
            exhausted.push_back(pg::call([&] {
                bool n;
                return datumCopy(spi::value(row, 1, &n), false, gencontrol::TenantShardId::kSize);
            }));
    }
    for (Datum tenant : exhausted) {
        gencontrol::warn_exhausted_shard(tenant, node);
        Datum args[] = {tenant, Int64GetDatum(node)};
        detach_exhausted.run(args, nullptr, false);
    }
    gencontrol::issue_durably();

    gencontrol::return_secondaries(secondaries, node_arg, rsinfo, secondary);
    spi::finish();
    return Datum(0);
}

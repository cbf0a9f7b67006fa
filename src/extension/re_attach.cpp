// gen_re_attach: a node restarted. Every shard attached to it gets a new generation in one
// set-oriented statement that locks rows in primary-key order; its secondaries are listed.
// The common case is one UPDATE pass over the node's index; a node holding a shard whose
// generation cannot grow takes the slower pass that finds and detaches it.
#include <optional>
#include <string>
#include <vector>

#include "durability.hpp"
#include "guards.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

spi::Statement lock_node("SELECT status FROM gencontrol.nodes WHERE node_id = $1 FOR NO KEY UPDATE", "b");

spi::Statement activate_node(
    "UPDATE gencontrol.nodes SET status = 'active', updated_at = now() WHERE node_id = $1", "b");

// Locks all of the node's shards in key order, bumps those that can grow, logs every bump,
// and also returns the shards that cannot grow (exhausted = true) so they can be detached.
spi::Statement bump_attached(R"SQL(
WITH locked AS MATERIALIZED (
    SELECT id, generation FROM gencontrol.tenant_shards
     WHERE attached_node = $1 AND generation IS NOT NULL
     ORDER BY id FOR NO KEY UPDATE),
bumped AS (
    UPDATE gencontrol.tenant_shards t
       SET generation = l.generation + 1, updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id AND l.generation < 2147483647
    RETURNING t.id, l.generation AS old_generation, t.generation, t.stripe_size),
logged AS (
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    SELECT id, old_generation, generation, $1, 're_attach', session_user FROM bumped)
SELECT id, generation, stripe_size, false AS exhausted FROM bumped
UNION ALL
SELECT id, generation, NULL, true FROM locked WHERE generation = 2147483647
ORDER BY 1
)SQL",
                             "b");

// The fast path: one UPDATE walks the node's (attached_node, id) index, so rows are locked in
// primary-key order, bumped, logged and returned in a single pass. A shard at 2147483647 makes
// generation + 1 overflow (22003): the caller then rolls this back and takes bump_attached.
spi::Statement bump_in_one_pass(R"SQL(
WITH bumped AS (
    UPDATE gencontrol.tenant_shards
       SET generation = generation + 1, updated_at = now()
     WHERE attached_node = $1 AND generation IS NOT NULL
    RETURNING id, generation, stripe_size),
logged AS (
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    SELECT id, generation - 1, generation, $1, 're_attach', session_user FROM bumped)
SELECT id, generation, stripe_size, false AS exhausted FROM bumped
)SQL",
                                "b");

// Runs bump_in_one_pass in a subtransaction with the planner held to index scans (which
// return the node's shards in key order). Returns the row count, or nullopt when a shard's
// generation is exhausted and nothing was changed.
std::optional<std::uint64_t> bump_fast(Datum* node_arg) {
    MemoryContext context = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    // A subtransaction abort also pops this GUC level; a successful pass pops it below.
    int guc_level = pg::call([] {
        BeginInternalSubTransaction(nullptr);
        int level = NewGUCNestLevel();
        for (const char* name : {"enable_seqscan", "enable_bitmapscan"})
            (void)set_config_option(name, "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        return level;
    });
    MemoryContextSwitchTo(context);
    auto restore = [&] {
        MemoryContextSwitchTo(context);
        CurrentResourceOwner = owner;
    };
    std::uint64_t rows = 0;
    try {
        rows = bump_in_one_pass.run(node_arg, nullptr, false);
    } catch (const pg::PgError& error) {
        pg::call([] { RollbackAndReleaseCurrentSubTransaction(); });
        restore();
        if (error.data->sqlerrcode == ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE) return std::nullopt;
        throw;
    }
    pg::call([&] {
        AtEOXact_GUC(true, guc_level);
        ReleaseCurrentSubTransaction();
    });
    restore();
    return rows;
}

spi::Statement detach_exhausted(R"SQL(
WITH detached AS (
    UPDATE gencontrol.tenant_shards SET attached_node = NULL, updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id, generation)
INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
SELECT id, generation, generation, $2, 'exhausted', session_user FROM detached
)SQL",
                                "Tb");

spi::Statement secondaries(R"SQL(
SELECT s.tenant, t.stripe_size
  FROM gencontrol.secondary_locations s
  JOIN gencontrol.tenant_shards t ON t.id OPERATOR(gencontrol.=) s.tenant
 WHERE s.node = $1 AND t.deleted_at IS NULL
 ORDER BY s.tenant
)SQL",
                           "b");

}  // namespace

GENCONTROL_FUNCTION(gen_re_attach) {
    return pg::entry([&] {
        gencontrol::require_primary("gen_re_attach");
        if (PG_ARGISNULL(0))
            pg::raise(ERRCODE_NULL_VALUE_NOT_ALLOWED, "gen_re_attach: node must not be NULL");
        std::int64_t node = PG_GETARG_INT64(0);
        pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        Datum attached_single = pg::call([] { return CStringGetTextDatum("AttachedSingle"); });
        Datum secondary = pg::call([] { return CStringGetTextDatum("Secondary"); });

        spi::connect();
        Datum node_arg[] = {Int64GetDatum(node)};
        if (lock_node.run(node_arg, nullptr, false) == 0)
            pg::raise(
                ERRCODE_NO_DATA_FOUND, "node " + std::to_string(node) + " is not registered", "",
                "A node registers itself with gencontrol.node_register() (or re-attach with \"register\").");
        bool is_null;
        std::string status = pg::call([&] { return TextDatumGetCString(spi::value(0, 1, &is_null)); });
        if (status == "deleted")
            pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                      "node " + std::to_string(node) + " was deleted and cannot re-attach");
        if (status != "active") activate_node.run(node_arg, nullptr, false);

        auto fast = bump_fast(node_arg);
        std::uint64_t rows = fast ? *fast : bump_attached.run(node_arg, nullptr, false);
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
                    return datumCopy(spi::value(row, 1, &n), false, 18);
                }));
        }
        for (Datum tenant : exhausted) {
            std::string name = gencontrol::tenant_shard_id_text(tenant);
            pg::call([&] {
                ereport(WARNING,
                        (errmsg("gencontrol: tenant shard %s has used up its generations and was "
                                "detached from node %lld",
                                name.c_str(), (long long)node),
                         errhint("Give the tenant shard a new id (for example a new shard count).")));
            });
            Datum args[] = {tenant, Int64GetDatum(node)};
            detach_exhausted.run(args, nullptr, false);
        }
        gencontrol::issue_durably();

        rows = secondaries.run(node_arg, nullptr, false);
        pg::call([&] {
            for (std::uint64_t row = 0; row < rows; ++row) {
                bool nulls[4] = {false, true, false, false};
                Datum values[4] = {spi::value(row, 1, &nulls[0]), 0, secondary,
                                   spi::value(row, 2, &nulls[3])};
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            }
        });
        spi::finish();
        return Datum(0);
    });
}

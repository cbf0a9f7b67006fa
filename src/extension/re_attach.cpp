// gen_re_attach: a node restarted. It bumps the node's epoch (one row), which raises the current
// generation of every shard attached to it by one, lists them, and logs them in one row.
//
// Why this is linearizable without touching the shard rows: every writer that reads,
// materialises or moves a shard's generation holds the heavyweight lock of the shard's node
// (node_lock.cpp) shared until it commits: gen_attach and gen_detach for the node a shard leaves
// and the one it joins, tenant_delete and timeline_import_set_status for the shard's node,
// tenant_shard_split for its parents' nodes, gen_advance_all for every node. gen_re_attach (like
// node_delete) takes it exclusively. So while a re-attach of node N is in flight no other
// transaction can compute, materialise or move a generation of a shard on N, and every one that
// is granted the lock after it commits reads the new epoch (epochs are read with a fresh
// snapshot, taken after the lock was granted). Lock order everywhere: node locks, then node rows,
// then shard rows; shard_lock.hpp says why no wait, this one's included, forms a cycle.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "attached_shards.hpp"
#include "durability.hpp"
#include "generation.hpp"
#include "generation_log.hpp"
#include "guards.hpp"
#include "layout.hpp"
#include "node_epochs.hpp"
#include "node_lock.hpp"
#include "prologue.hpp"
#include "re_attach.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"
#include "v1_0/v1_0.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

// 64 MB: a node's 100,000 shards take about 7.
constexpr int kResultKilobytes = 64 * 1024;

// The node's row, locked against node_set_status and node_register; its epoch read from the
// locked (newest) version.
spi::Statement lock_node_row(
    "SELECT status, owner_role::text, epoch FROM gencontrol.nodes WHERE node_id = $1 FOR NO KEY UPDATE", "b");

spi::Statement bump_epoch(R"SQL(
UPDATE gencontrol.nodes
   SET epoch = $2, status = 'active', updated_at = CASE WHEN status = 'active' THEN updated_at ELSE now() END
 WHERE node_id = $1
)SQL",
                          "bb");

spi::Statement log_re_attach(R"SQL(
INSERT INTO gencontrol.re_attach_log (node, epoch, tenants, old_generations, role)
VALUES ($1, $2, $3, $4, session_user)
)SQL",
                             "bbAI");

// A shard at the last generation leaves the node with its generation kept (it cannot grow).
spi::Statement detach_exhausted(gencontrol::logged_change("", R"SQL(
    UPDATE gencontrol.tenant_shards_stored
       SET attached_node = NULL, base_generation = $3, base_epoch = NULL, updated_at = now()
     WHERE id OPERATOR(gencontrol.=) $1
    RETURNING id AS tenant, base_generation AS old_generation, base_generation AS new_generation,
              $2 AS node, 'exhausted'::text AS operation)SQL",
                                                          "SELECT 1 FROM changes"),
                                "Tbi");

// A node is never both attached and a secondary location of a shard; the second condition
// keeps a row that 1.0 allowed (finding 2 of issue 9) from being listed twice.
spi::Statement secondaries(R"SQL(
SELECT s.tenant, t.stripe_size
  FROM gencontrol.secondary_locations s
  JOIN gencontrol.tenant_shards_stored t ON t.id OPERATOR(gencontrol.=) s.tenant
 WHERE s.node = $1 AND t.deleted_at IS NULL AND t.attached_node IS DISTINCT FROM $1
 ORDER BY s.tenant
)SQL",
                           "b");

// Locks the node (its heavyweight lock exclusively, then its row), checks that it may
// re-attach now, and returns its epoch.
std::int64_t lock_node_for_re_attach(std::int64_t node, Datum* node_arg) {
    gencontrol::lock_node_for_re_attach(node);
    gencontrol::check_re_attaching_node(node, lock_node_row.run(node_arg, nullptr, false));
    return spi::int64_value(0, 3).value_or(0);
}

}  // namespace

GENCONTROL_FUNCTION(gen_re_attach) {
    if (gencontrol::layout() == gencontrol::Layout::v1_0) return gencontrol::v1_0::gen_re_attach(fcinfo);
    gencontrol::begin_call(fcinfo, "gen_re_attach", {0}, "node");
    std::int64_t node = PG_GETARG_INT64(0);
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    pg::call([&] {
        InitMaterializedSRF(fcinfo, 0);
        // A node's shards are the whole answer: keep up to kResultKilobytes of them in memory
        // rather than spilling to a temporary file past work_mem.
        MemoryContext caller = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
        tuplestore_end(rsinfo->setResult);
        rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0, false,
                                                  std::max(work_mem, kResultKilobytes));
        MemoryContextSwitchTo(caller);
    });
    Datum attached_single = pg::call([] { return CStringGetTextDatum("AttachedSingle"); });
    Datum secondary = pg::call([] { return CStringGetTextDatum("Secondary"); });

    spi::connect();
    Datum node_arg[] = {Int64GetDatum(node)};
    std::int64_t epoch = lock_node_for_re_attach(node, node_arg);
    std::int64_t new_epoch = epoch + 1;

    // The node's shards in key order with a fresh snapshot: with the node's lock held
    // exclusively, no attach to or from the node is in flight. Every shard below the last
    // generation goes into the result (its generation at the new epoch) and into the log row's
    // arrays (the one before); the rest are detached below.
    std::vector<Datum> tenants, old_generations;
    std::vector<std::pair<Datum, std::int32_t>> exhausted;
    pg::call([&] {
        gencontrol::for_each_attached_shard(node, GetLatestSnapshot(), [&](const gencontrol::AttachedShard& shard) {
            std::int64_t generation = gencontrol::current_generation(shard.base_generation, shard.base_epoch, epoch);
            Datum id = datumCopy(shard.id, false, gencontrol::TenantShardId::kSize);
            if (generation >= gencontrol::kMaxGeneration) {
                exhausted.emplace_back(id, static_cast<std::int32_t>(generation));
                return true;
            }
            Datum values[4] = {id, Int32GetDatum(static_cast<std::int32_t>(generation + 1)), attached_single,
                               Int32GetDatum(shard.stripe_size)};
            bool nulls[4] = {false, false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            tenants.push_back(id);
            old_generations.push_back(Int32GetDatum(static_cast<std::int32_t>(generation)));
            return true;
        });
    });

    Datum log_args[4] = {Int64GetDatum(node), Int64GetDatum(new_epoch), 0, 0};
    pg::call([&] {
        log_args[2] = PointerGetDatum(construct_array(tenants.data(), static_cast<int>(tenants.size()),
                                                      gencontrol::spi::tenant_shard_id_type(),
                                                      gencontrol::TenantShardId::kSize, false, TYPALIGN_CHAR));
        log_args[3] = PointerGetDatum(construct_array(old_generations.data(),
                                                      static_cast<int>(old_generations.size()), INT4OID, 4,
                                                      true, TYPALIGN_INT));
    });

    // Detached before the bump, so that the nodes guard and the bump see no shard past the end.
    for (auto& [tenant, generation] : exhausted) {
        gencontrol::warn_exhausted_shard(tenant, node);
        Datum args[] = {tenant, Int64GetDatum(node), Int32GetDatum(generation)};
        detach_exhausted.run(args, nullptr, false);
    }

    gencontrol::vouch_for_epoch(node, new_epoch);
    Datum bump_args[] = {Int64GetDatum(node), Int64GetDatum(new_epoch)};
    bump_epoch.run(bump_args, nullptr, false);
    if (!tenants.empty()) log_re_attach.run(log_args, nullptr, false);
    gencontrol::issue_durably();

    gencontrol::return_secondaries(secondaries, node_arg, rsinfo, secondary);
    spi::finish();
    return Datum(0);
}

std::string gencontrol::check_re_attaching_node(std::int64_t node, std::uint64_t rows) {
    if (rows == 0)
        pg::raise(
            ERRCODE_NO_DATA_FOUND, "node " + std::to_string(node) + " is not registered", "",
            "A node registers itself with gencontrol.node_register() (or re-attach with \"register\").");
    bool is_null;
    Datum owner = spi::value(0, 2, &is_null);
    if (!is_null) {
        // Bound with node_bind_role: only that role (or a member of it) or a controller, so that
        // another pageserver role cannot invalidate its generations.
        std::string owner_role = pg::call([&] { return std::string(TextDatumGetCString(owner)); });
        bool allowed = pg::call([&] {
            Oid session = GetSessionUserId();
            Oid bound = get_role_oid(owner_role.c_str(), true);
            Oid controller = get_role_oid("gencontrol_controller", true);
            return (OidIsValid(bound) && is_member_of_role(session, bound)) ||
                   (OidIsValid(controller) && is_member_of_role(session, controller));
        });
        if (!allowed)
            pg::raise(ERRCODE_INSUFFICIENT_PRIVILEGE,
                      "gen_re_attach: node " + std::to_string(node) + " is bound to role \"" + owner_role +
                          "\"; only that role or a controller may re-attach it",
                      "", "A controller changes the binding with gencontrol.node_bind_role().");
    }
    std::string status = pg::call([&] { return std::string(TextDatumGetCString(spi::value(0, 1, &is_null))); });
    if (status == "deleted")
        pg::raise(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                  "node " + std::to_string(node) + " was deleted and cannot re-attach");
    return status;
}

void gencontrol::warn_exhausted_shard(Datum tenant, std::int64_t node) {
    std::string name = tenant_shard_id_text(tenant);
    pg::call([&] {
        ereport(WARNING, (errmsg("gencontrol: tenant shard %s has used up its generations and was "
                                 "detached from node %lld",
                                 name.c_str(), (long long)node),
                          errhint("Give the tenant shard a new id (for example a new shard count).")));
    });
}

void gencontrol::return_secondaries(spi::Statement& secondaries, Datum* node_arg, ReturnSetInfo* rsinfo,
                                    Datum secondary) {
    std::uint64_t rows = secondaries.run(node_arg, nullptr, false);
    pg::call([&] {
        for (std::uint64_t row = 0; row < rows; ++row) {
            bool nulls[4] = {false, true, false, false};
            Datum values[4] = {spi::value(row, 1, &nulls[0]), 0, secondary, spi::value(row, 2, &nulls[3])};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
}

// Locking one tenant shard for a write (shard_lock.hpp has the lock order and why it is cycle-free):
// the C++ writers call write_locked_shard, the PL/pgSQL ones gencontrol.tenant_shard_lock().
#include "shard_lock.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "generation.hpp"
#include "guards.hpp"
#include "node_lock.hpp"
#include "prologue.hpp"
#include "shard_lookup.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace gencontrol {
namespace {

// FOR NO KEY UPDATE for gen_attach and gen_detach; FOR UPDATE for tenant_delete (as 1.0, it also
// keeps out a concurrent tenant_set_secondaries' KEY SHARE); FOR SHARE for the import fence.
LockTupleMode tuple_lock_mode(ShardRowLock mode) {
    switch (mode) {
        case ShardRowLock::update: return LockTupleExclusive;
        case ShardRowLock::share: return LockTupleShare;
        case ShardRowLock::no_key_update: break;
    }
    return LockTupleNoKeyExclusive;
}

}  // namespace

namespace {

// Takes the shared locks of `seen` (the shard's node as probed) and `also`, in ascending node id;
// returns them as taken.
std::vector<std::int64_t> lock_nodes(std::optional<std::int64_t> seen, std::optional<std::int64_t> also) {
    std::vector<std::int64_t> nodes;
    if (also) nodes.push_back(*also);
    if (seen) nodes.push_back(*seen);
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    for (std::int64_t node : nodes) lock_node_shared(node);
    return nodes;
}

bool holds(const std::vector<std::int64_t>& nodes, std::optional<std::int64_t> node) {
    return !node || std::binary_search(nodes.begin(), nodes.end(), *node);
}

// The shard as `row` stores it, with its current generation and the state of `also`, read
// with a fresh snapshot once the locks of both nodes are held: no gen_re_attach or node_delete
// of those nodes can be in flight, so a newer epoch cannot exist.
LockedShard describe(Datum tenant, const LockedRow& row, std::optional<std::int64_t> also) {
    LockedShard shard;
    if (row.exists) {
        shard.exists = true;
        shard.live = !row.deleted;
        shard.node = row.node;
        shard.stripe_size = row.stripe_size.value_or(0);
        shard.tid = row.tid;
        shard.secondary_nodes = row.secondary_nodes;
    }
    NodeEpochs fresh;
    fresh.open(pg::call([] { return GetLatestSnapshot(); }));
    std::optional<NodeState> from = shard.node ? fresh.find(*shard.node) : std::nullopt;
    if (also) shard.target = fresh.find(*also);
    fresh.close();
    if (shard.node && row.base_generation) {
        if (!from || !row.base_epoch)
            pg::raise(ERRCODE_DATA_CORRUPTED, "tenant shard " + tenant_shard_id_text(tenant) +
                                                  " is attached to node " + std::to_string(*shard.node) +
                                                  ", which has no row in gencontrol.nodes");
        std::int64_t current = current_generation(*row.base_generation, *row.base_epoch, from->epoch);
        if (!is_valid_generation(current))
            pg::raise(ERRCODE_DATA_CORRUPTED, "tenant shard " + tenant_shard_id_text(tenant) +
                                                  " has generation " + std::to_string(current) +
                                                  ", outside 1 .. " + std::to_string(kMaxGeneration));
        shard.generation = static_cast<std::int32_t>(current);
    } else {
        shard.generation = row.base_generation;
    }
    return shard;
}

}  // namespace

std::optional<LockedShard> try_lock_shard(Datum tenant, std::optional<std::int64_t> also, ShardRowLock mode) {
    ShardLookup lookup;
    lookup.open(pg::call([] { return GetLatestSnapshot(); }), false);
    std::optional<std::int64_t> seen = lookup.find(tenant).node;
    lookup.close();

    std::vector<std::int64_t> nodes = lock_nodes(seen, also);

    // SELECT ... FOR <mode> without an executor (ShardLookup::lock), under the snapshot that
    // statement would have had: a new one in READ COMMITTED, the transaction's otherwise.
    ShardLookup locker;
    locker.open(pg::call([] { return GetTransactionSnapshot(); }), false);
    LockedRow row = locker.lock(tenant, tuple_lock_mode(mode));
    locker.close();
    // Moved since the probe, to a node whose lock we do not hold. Waiting for it here, with the
    // row held, is what made writers wait in cycles until deadlock_timeout: give the row back
    // instead (the caller rolls the subtransaction back) and start again.
    if (row.exists && !holds(nodes, row.node)) return std::nullopt;
    return describe(tenant, row, also);
}

std::optional<LockedShard> UnlockedShard::begin(Datum tenant, std::int64_t also) {
    lookup_.open(pg::call([] { return GetLatestSnapshot(); }), false, RowExclusiveLock);
    open_ = true;
    LockedRow row = lookup_.read(tenant);
    if (!row.exists) return std::nullopt;
    nodes_ = lock_nodes(row.node, also);
    return describe(tenant, row, also);
}

void UnlockedShard::give_back() {
    // Descending, the reverse of the order they were taken in (any order is safe for releases).
    for (auto node = nodes_.rbegin(); node != nodes_.rend(); ++node) unlock_node_shared(*node);
    nodes_.clear();
}

void UnlockedShard::end() {
    if (open_) lookup_.close();
    open_ = false;
}

void refuse_moving_shard(Datum tenant, int attempts) {
    pg::raise(ERRCODE_T_R_SERIALIZATION_FAILURE,
              "tenant shard " + tenant_shard_id_text(tenant) + " moved to another node " +
                  std::to_string(attempts) + " times while this transaction tried to lock it",
              "", "Retry the transaction.");
}

}  // namespace gencontrol

// For the PL/pgSQL writers: locks the shard's node (shared) and then its row, FOR UPDATE or FOR
// SHARE, by the same rules as gen_attach, and keeps both until the transaction ends. True when
// the shard's row exists (deleted or not); the caller then reads it, and it cannot change.
GENCONTROL_FUNCTION(tenant_shard_lock) {
    gencontrol::begin_call(fcinfo, "tenant_shard_lock", {0, 1}, "tenant and mode");
    std::string mode = pg::call([&] { return std::string(text_to_cstring(PG_GETARG_TEXT_PP(1))); });
    if (mode != "update" && mode != "share")
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                  "tenant_shard_lock: mode must be update or share, got \"" + mode.substr(0, 64) + "\"");
    auto row_lock = mode == "update" ? gencontrol::ShardRowLock::update : gencontrol::ShardRowLock::share;
    spi::connect();
    bool exists = gencontrol::write_locked_shard(
        PG_GETARG_DATUM(0), std::nullopt, row_lock,
        [](const gencontrol::LockedShard& shard) { return std::optional<bool>(shard.exists); });
    spi::finish();
    return BoolGetDatum(exists);
}

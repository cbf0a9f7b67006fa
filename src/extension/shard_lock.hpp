// How a writer locks one tenant shard: the shared locks of its nodes first, in ascending node id,
// then its row, never waiting for a node lock while it holds the row (the lock order of every writer).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "node_epochs.hpp"
#include "shard_lookup.hpp"
#include "subtransaction.hpp"

namespace gencontrol {

// The lock order, and why no writer waits in a cycle (not even a "soft" one, through a lock
// request queued behind a waiting exclusive request, which PostgreSQL untangles only when
// deadlock_timeout fires: 1 s by default, which is what collapsed throughput before this rule).
//
// Three kinds of lock: node locks (node_lock.cpp; shared by writers, exclusive by gen_re_attach
// and node_delete), node rows (gencontrol.nodes) and shard rows (tenant_shards_stored, and the
// secondary_locations rows that hang off them). Within one SQL call:
//  (a) a writer takes all its node locks before any shard row, in ascending node id;
//  (b) no writer waits for a node lock while it holds a shard row: when the row it locked names a
//      node it has not locked (the shard moved after the unlocked probe that chose the nodes),
//      the subtransaction that took the row is rolled back, which gives the row and the node
//      locks back, and the writer starts again with the new node (write_locked_shard below);
//  (c) an exclusive holder (gen_re_attach, node_delete) takes exactly one node lock, first.
// So a wait for a node lock L is made only by a transaction holding node locks below L and no
// row; whoever it waits for (L's holders, or the exclusive request queued before it) either
// waits for a node lock above L, or for rows, whose holders never wait for a node lock. Such a
// chain never comes back to a lock below L: there is no cycle. Row waits among writers are
// ordered too (one shard row per call, or many in key order), so a cycle can only come from a
// caller's own transaction that still holds locks from an earlier statement (two attaches in one
// transaction); PostgreSQL's deadlock check breaks that, as it would for any two transactions
// that lock rows in opposite orders. The shim does this on purpose (attach-hooks that share one
// transaction, src/http/attach_batch.cpp): it sends each shard once and in key order, so its
// calls never wait for each other's rows in a cycle; docs/serving-core.md says what is left (a
// soft wait behind a re-attach, untangled after deadlock_timeout).
//
// The writers, each cycle-free by the rules above:
//  - gen_attach, gen_detach, tenant_delete, timeline_import_set_status: write_locked_shard
//    (the PL/pgSQL ones through gencontrol.tenant_shard_lock()).
//  - gen_attach of an existing shard in READ COMMITTED tries try_unlocked_shard first, which
//    takes no row lock before its update. It waits for node locks holding no row (rule b); its
//    update waits for the row's writer as the row lock would, at the same point (after the node
//    locks, before anything else); and if that writer changed the row, it gives its node locks
//    back before write_locked_shard takes them again, in ascending order (rule a).
//  - tenant_shard_split: node locks of the parents' nodes (ascending), then the parents' rows in
//    key order; a parent that moved meanwhile is refused with 40001 rather than waited for.
//  - gen_advance_all: every node's lock (ascending), then every shard row in key order, in a
//    subtransaction that is rolled back and retried when a locked row names a node registered
//    after the node list was read (advance_all.cpp).
//  - gen_re_attach: its node's lock exclusively, then the node's row, then the rows of its
//    exhausted shards. Every transaction holding one of those shard rows holds that node's lock
//    shared (rule b), and so cannot hold it now; the node row's other lockers (node_register,
//    node_update, node_bind_role, node_set_status) take no node lock at all.
//  - node_delete: the node's lock exclusively, then its row FOR UPDATE, then the node's
//    secondary_locations rows, whose other writers never wait for a node lock after taking them.
//  - tenant_set_secondaries: the shard row, then node rows FOR KEY SHARE in ascending id; no node
//    lock. It can wait for node_delete (FOR UPDATE), which never waits for a shard row.
//  - node_register, node_update, node_bind_role, node_set_status: one node row, no node lock.

// The shard's row as locked, with its current generation, and the state of the node an attach
// moves it to (read after that node's lock was granted).
struct LockedShard {
    bool exists = false;
    bool live = false;
    std::optional<std::int32_t> generation;  // current; none before the first attach
    std::optional<std::int64_t> node;
    std::int32_t stripe_size = 0;  // 0 when the shard does not exist
    std::optional<NodeState> target;
    ItemPointerData tid{};  // the locked row version, when it exists
    Datum secondary_nodes = 0;  // LockedRow::secondary_nodes
};

enum class ShardRowLock { no_key_update, update, share };

// One try: probe the shard's node without a lock, lock that node and `also` (ascending), lock
// the row. std::nullopt when the locked row names a node not locked: the caller must roll back.
std::optional<LockedShard> try_lock_shard(Datum tenant, std::optional<std::int64_t> also, ShardRowLock mode);

// A shard that moves this often while one writer tries to lock it is refused with 40001.
inline constexpr int kMaxShardLockAttempts = 64;
[[noreturn]] void refuse_moving_shard(Datum tenant, int attempts);

// Locks `tenant` (its nodes, `also`, then its row in `mode`) inside a subtransaction and runs
// `write(const LockedShard&)` there, so the row is locked and written by one subtransaction (no
// MultiXact for a lock taken by a subtransaction and used by its parent). `write` returns
// std::optional<T>: a value is kept and returned; std::nullopt rolls back and starts again (an
// attach whose insert met a concurrent creation of the same shard). On success the
// subtransaction is released into the caller's transaction, with the locks.
template <class Write>
auto write_locked_shard(Datum tenant, std::optional<std::int64_t> also, ShardRowLock mode, Write&& write) {
    return retry_in_subtransaction([&](int attempt) -> decltype(write(std::declval<const LockedShard&>())) {
        if (attempt >= kMaxShardLockAttempts) refuse_moving_shard(tenant, attempt);
        std::optional<LockedShard> shard = try_lock_shard(tenant, also, mode);
        if (!shard) return std::nullopt;
        return write(*shard);
    });
}

// The optimistic way to change an existing shard, for a writer whose change is one update of
// its row (gen_attach): probe the row (the version found stays pinned), lock its node and
// `also`, compute, then update that version if it is still the latest (TableWriter::
// update_if_latest). No row lock first: that saves the lock's WAL record, the subtransaction
// that write_locked_shard needs to give a row lock back, and the lock's second index descent.
// If the version was changed by another transaction before the update took it, nothing was
// written and the node locks are given back, so the next try starts afresh. READ COMMITTED
// only: under a transaction snapshot the probe (latest version) is not what UPDATE would see.
class UnlockedShard {
public:
    // Probes `tenant` under a fresh snapshot and, if it has a row, locks that row's node and
    // `also` (ascending) and describes it as write_locked_shard would (tid: the probed version,
    // not locked). std::nullopt, with no lock taken, when the shard has no row.
    std::optional<LockedShard> begin(Datum tenant, std::int64_t also);
    // The update found a newer version: release the node locks begin() took.
    void give_back();
    // Unpins the probed version; after the update (or give_back) of every try.
    void end();

private:
    ShardLookup lookup_;
    bool open_ = false;
    std::vector<std::int64_t> nodes_;
};

// Runs `write(const LockedShard&)` on an existing shard without locking its row first (see
// UnlockedShard), once. `write` returns std::optional<T>: a value is returned; std::nullopt
// means its update found a newer version and wrote nothing. This returns std::nullopt, holding
// no lock it took, when the shard has no row or the try lost its row; the caller then takes
// write_locked_shard, which creates a missing row and, on a contended one, queues for the row
// lock (optimistic tries again and again would all wake at each commit and all but one lose,
// each time, on a shard many writers want).
template <class Write>
auto try_unlocked_shard(Datum tenant, std::int64_t also, Write&& write) -> decltype(write(std::declval<const LockedShard&>())) {
    UnlockedShard unlocked;
    std::optional<LockedShard> shard = unlocked.begin(tenant, also);
    if (!shard) {
        unlocked.end();
        return std::nullopt;
    }
    auto written = write(*shard);
    unlocked.end();
    if (!written) unlocked.give_back();
    return written;
}

}  // namespace gencontrol

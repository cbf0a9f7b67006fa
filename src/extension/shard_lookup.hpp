// Primary-key probes of a tenant shard's stored row straight through the index, under a snapshot
// the caller chooses: gen_validate's hot path, without SQL planning or executor start-up.
#pragma once

#include <cstdint>
#include <optional>

#include "node_epochs.hpp"
#include "pg.hpp"

namespace gencontrol {

struct ShardState {
    bool known = false;                 // a live (not deleted) row exists
    std::int64_t generation = 0;        // the current one; 0 when the shard has no generation yet
    std::optional<std::int64_t> node;   // the attached node
};

// A shard's stored row as locked by ShardLookup::lock (1.1 layout).
struct LockedRow {
    bool exists = false;
    ItemPointerData tid{};                      // the locked (latest) row version
    std::optional<std::int32_t> base_generation;
    bool deleted = false;
    std::optional<std::int64_t> node;
    std::optional<std::int32_t> stripe_size;
    std::optional<std::int64_t> base_epoch;
    Datum secondary_nodes = 0;  // a copy of the stored bigint[] (in the caller's memory context); 0 for NULL
};

// Opens the table and its primary-key index for the duration of one SQL call. Must be used
// between open() and close() only; a PostgreSQL error in between aborts the transaction,
// which releases the scan, the relations and the snapshot. On a 1.1 schema it reads
// tenant_shards_stored and adds the node's epoch (read under the same snapshot); on a 1.0 one,
// the generation column of the table tenant_shards.
class ShardLookup {
public:
    // Without `with_epochs`, find() reports where a shard is attached but not its generation
    // (gen_attach only needs the node to lock, and saves opening gencontrol.nodes). A caller
    // that will write the table opens it with RowExclusiveLock: then its writer's lock on the
    // table and the index is one this transaction already holds, not a second lock of each.
    void open(Snapshot snapshot, bool with_epochs = true, LOCKMODE lock = AccessShareLock);
    ShardState find(Datum tenant);
    // Locks the shard's row version visible to the snapshot open() was given, in `mode`, as
    // SELECT ... FOR NO KEY UPDATE (FOR UPDATE, FOR SHARE) does, without starting an executor:
    // in READ COMMITTED it waits for a concurrent writer and follows its update to the latest
    // version; under REPEATABLE READ or SERIALIZABLE a version updated after the snapshot is a
    // serialization failure (40001). Open it with the snapshot an SPI statement would get
    // (GetTransactionSnapshot()). 1.1 layout only.
    LockedRow lock(Datum tenant, LockTupleMode mode);
    // The shard's row version visible to the snapshot open() was given, without a lock. The
    // version stays pinned until the next call or close(), so its item cannot be pruned and
    // reused: an update of row.tid before then updates this version or reports that a newer
    // one exists (the optimistic writer of shard_lock.hpp). 1.1 layout only.
    LockedRow read(Datum tenant);
    // A node's epoch and status under the same snapshot (1.1 only).
    std::optional<NodeState> node(std::int64_t id) { return epochs_.find(id); }
    void close();

private:
    Relation table_ = nullptr;
    Relation index_ = nullptr;
    IndexScanDesc scan_ = nullptr;
    TupleTableSlot* slot_ = nullptr;
    TupleTableSlot* locked_slot_ = nullptr;  // created by the first lock()
    Snapshot snapshot_ = nullptr;
    bool node_epochs_ = false;   // the 1.1 layout: base_epoch is read
    bool with_epochs_ = false;   // and the node's epoch added
    NodeEpochs epochs_;
};

// Sets `key` to find `tenant` in the btree `index`, whose column `column` is a tenant_shard_id,
// with the equality function of that column's operator family resolved once per backend:
// ScanKeyInit resolves it for every key through the catalog cache, since it is not a built-in
// function. Runs inside pg::call.
void tenant_shard_key(ScanKeyData* key, Relation index, AttrNumber column, Datum tenant);

// Registers the relcache invalidation callback that forgets the table's cached shape; called
// once from _PG_init.
void register_shard_lookup_invalidation();

}  // namespace gencontrol

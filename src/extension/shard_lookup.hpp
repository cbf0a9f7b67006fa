// Primary-key probes of gencontrol.tenant_shards straight through the index, under a snapshot
// the caller chooses: gen_validate's hot path, without SQL planning or executor start-up.
#pragma once

#include <cstdint>

#include "pg.hpp"

namespace gencontrol {

struct ShardState {
    bool known = false;           // a live (not deleted) row exists
    std::int64_t generation = 0;  // 0 when the shard has no generation yet
};

// Opens the table and its primary-key index for the duration of one SQL call. Must be used
// between open() and close() only; a PostgreSQL error in between aborts the transaction,
// which releases the scan, the relations and the snapshot.
class ShardLookup {
public:
    void open(Snapshot snapshot);
    ShardState find(Datum tenant);
    void close();

private:
    Relation table_ = nullptr;
    Relation index_ = nullptr;
    IndexScanDesc scan_ = nullptr;
    TupleTableSlot* slot_ = nullptr;
    Snapshot snapshot_ = nullptr;
};

// Registers the relcache invalidation callback that forgets the table's cached shape; called
// once from _PG_init.
void register_shard_lookup_invalidation();

}  // namespace gencontrol

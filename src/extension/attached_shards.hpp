// (1.1) A node's attached shards in key order, read from the index tenant_shards_attached_node
// (which carries base_generation, base_epoch and stripe_size) without SQL: gen_re_attach's read.
#pragma once

#include <cstdint>
#include <functional>

#include "pg.hpp"

namespace gencontrol {

struct AttachedShard {
    Datum id;  // valid until the next shard is read
    std::int64_t base_generation;
    std::int64_t base_epoch;
    std::int32_t stripe_size;
};

// Calls `each` for every shard attached to `node` visible to `snapshot`, in key order, until it
// returns false. Reads
// the values from the index entry, visiting the table only for pages the visibility map does
// not mark all-visible (to learn whether the entry's row is visible at all), as an index-only
// scan does. Runs inside pg::call: may raise; `each` must not throw.
void for_each_attached_shard(std::int64_t node, Snapshot snapshot,
                             const std::function<bool(const AttachedShard&)>& each);

// Registers the relcache callback that forgets the cached relation OIDs; called from _PG_init.
void register_attached_shards_invalidation();

}  // namespace gencontrol

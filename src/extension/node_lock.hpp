// The per-node transaction lock that keeps node_delete and gen_re_attach from racing the writers.
// A heavyweight lock in shared memory: unlike a row lock it writes no WAL and needs no
// MultiXact when many attaches to one node overlap.
#pragma once

#include <cstdint>

namespace gencontrol {

// Held until the end of the transaction. Every writer that reads, materialises or moves the
// generation of a shard on a node shares it (gen_attach and gen_detach for the node a shard
// leaves and the one it joins, tenant_delete and timeline_import_set_status for the shard's node,
// all through shard_lock.hpp; tenant_shard_split through gencontrol.node_lock_shared(); and
// gen_advance_all for every node); node_delete and gen_re_attach take it exclusively. So a node
// is never marked deleted, and its epoch never bumped, while one of them is in flight.
// shard_lock.hpp has the order these locks are taken in, and why no wait forms a cycle.
void lock_node_shared(std::int64_t node);
void lock_node_for_delete(std::int64_t node);
void lock_node_for_re_attach(std::int64_t node);
// Gives back one lock_node_shared of this call before the transaction ends: the optimistic
// writer (shard_lock.hpp) returns the node locks of a try whose row changed under it, so that
// its next try again takes all its node locks in ascending order. A lock the transaction held
// before stays held (PostgreSQL counts each acquisition).
void unlock_node_shared(std::int64_t node);

}  // namespace gencontrol

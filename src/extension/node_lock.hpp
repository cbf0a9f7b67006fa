// The per-node transaction lock that keeps node_delete and gen_re_attach from racing an attach.
// A heavyweight lock in shared memory: unlike a row lock it writes no WAL and needs no
// MultiXact when many attaches to one node overlap.
#pragma once

#include <cstdint>

namespace gencontrol {

// Held until the end of the transaction. gen_attach and gen_detach share it for every node a
// shard moves from or to; node_delete and gen_re_attach take it exclusively, so a node is never
// marked deleted, and its epoch never bumped, while an attach or detach that reads it is in flight.
void lock_node_for_attach(std::int64_t node);
void lock_node_for_delete(std::int64_t node);
void lock_node_for_re_attach(std::int64_t node);

// Registers the relcache callback that forgets the cached OID of gencontrol.nodes; called
// once from _PG_init.
void register_node_lock_invalidation();

}  // namespace gencontrol

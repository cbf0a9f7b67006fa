// The per-node transaction lock that keeps node_delete from racing an attach to the node.
// A heavyweight lock in shared memory: unlike a row lock it writes no WAL and needs no
// MultiXact when many attaches to one node overlap.
#pragma once

#include <cstdint>

namespace gencontrol {

// Held until the end of the transaction. Attaches share it; node_delete takes it exclusively,
// so a node is never marked deleted while an attach to it is in flight.
void lock_node_for_attach(std::int64_t node);
void lock_node_for_delete(std::int64_t node);

// Registers the relcache callback that forgets the cached OID of gencontrol.nodes; called
// once from _PG_init.
void register_node_lock_invalidation();

}  // namespace gencontrol

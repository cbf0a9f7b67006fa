// Which layout this database's gencontrol schema has. The library is replaced before ALTER
// EXTENSION UPDATE runs, so until then it serves a 1.0 schema with 1.0's statements.
#pragma once

namespace gencontrol {

enum class Layout {
    v1_0,        // tenant_shards is a table holding each shard's current generation
    node_epochs  // (1.1) tenant_shards is a view over tenant_shards_stored and nodes.epoch
};

// Looked up once per backend, and again after PostgreSQL invalidates the relation (the update
// script renames 1.0's table).
Layout layout();

// Registers the relcache callback; called once from _PG_init.
void register_layout_invalidation();

}  // namespace gencontrol

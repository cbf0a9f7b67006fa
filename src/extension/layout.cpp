// Which layout this database's gencontrol schema has: 1.1's node epochs, or 1.0's table of
// current generations. Decided by what gencontrol.tenant_shards is: a view (1.1) or a table.
#include "layout.hpp"

#include "guards.hpp"
#include "relation_oids.hpp"

namespace gencontrol {
namespace {

Oid tenant_shards = InvalidOid;  // the relation the cached answer was read from
Layout cached = Layout::node_epochs;

void forget(Datum, Oid relid) {
    if (!OidIsValid(relid) || relid == tenant_shards) tenant_shards = InvalidOid;
}

}  // namespace

Layout layout() {
    if (OidIsValid(tenant_shards)) return cached;
    pg::call([] {
        Oid relation = relation_oid("tenant_shards");
        cached = get_rel_relkind(relation) == RELKIND_VIEW ? Layout::node_epochs : Layout::v1_0;
        tenant_shards = relation;
    });
    return cached;
}

void register_layout_invalidation() {
    CacheRegisterRelcacheCallback(forget, Datum(0));
}

}  // namespace gencontrol

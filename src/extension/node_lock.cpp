// Node locks: object-class heavyweight locks whose class is the OID of gencontrol.nodes. No
// SQL function lets a session take such a lock (pg_advisory_lock takes advisory tags only, and
// PostgreSQL locks objects under catalog OIDs), so nobody outside gencontrol can hold or wait
// on one (invariant 8). pg_locks shows them as locktype 'object', classid = 'gencontrol.nodes'.
#include "node_lock.hpp"

#include "guards.hpp"
#include "relation_oids.hpp"

namespace gencontrol {
namespace {

// A node id is 64 bits; the tag has 32 bits of object id and 16 of sub-id. Ids that share a
// tag merely serialize their attaches against each other's node_delete.
// Runs inside pg::call: may raise.
LOCKTAG node_tag(std::int64_t node) {
    auto id = static_cast<std::uint64_t>(node);
    auto object = static_cast<std::uint32_t>(id);
    auto sub_object = static_cast<std::uint16_t>((id >> 32) ^ (id >> 48));
    LOCKTAG tag;
    SET_LOCKTAG_OBJECT(tag, MyDatabaseId, relation_oid("nodes"), object, sub_object);
    return tag;
}

void lock_node(std::int64_t node, LOCKMODE mode) {
    pg::call([&] {
        LOCKTAG tag = node_tag(node);
        (void)LockAcquire(&tag, mode, false, false);
    });
}

}  // namespace

void lock_node_shared(std::int64_t node) {
    lock_node(node, ShareLock);
}
void lock_node_for_delete(std::int64_t node) {
    lock_node(node, ExclusiveLock);
}
void lock_node_for_re_attach(std::int64_t node) {
    lock_node(node, ExclusiveLock);
}
void unlock_node_shared(std::int64_t node) {
    pg::call([&] {
        LOCKTAG tag = node_tag(node);
        if (!LockRelease(&tag, ShareLock, false)) elog(ERROR, "gencontrol: node lock %lld was not held", (long long)node);
    });
}

}  // namespace gencontrol

GENCONTROL_FUNCTION(node_lock_for_delete) {
    gencontrol::lock_node_for_delete(PG_GETARG_INT64(0));
    return Datum(0);
}

GENCONTROL_FUNCTION(node_lock_shared) {
    gencontrol::lock_node_shared(PG_GETARG_INT64(0));
    return Datum(0);
}

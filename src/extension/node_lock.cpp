// Node locks: advisory-class heavyweight locks in a key space of gencontrol's own, so they
// show up in pg_locks (locktype advisory, classid 1734569588) and never meet a user's lock.
#include "node_lock.hpp"

#include "guards.hpp"

namespace gencontrol {
namespace {

constexpr std::uint32_t kNodeLockSpace = 0x67636e74;  // "gcnt"
constexpr std::uint16_t kTwoInt4Keys = 2;             // as pg_advisory_xact_lock(int4, int4)

void lock_node(std::int64_t node, LOCKMODE mode) {
    auto key = static_cast<std::uint32_t>(static_cast<std::uint64_t>(node) ^
                                          (static_cast<std::uint64_t>(node) >> 32));
    pg::call([&] {
        LOCKTAG tag;
        SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kNodeLockSpace, key, kTwoInt4Keys);
        (void)LockAcquire(&tag, mode, false, false);
    });
}

}  // namespace

void lock_node_for_attach(std::int64_t node) {
    lock_node(node, ShareLock);
}
void lock_node_for_delete(std::int64_t node) {
    lock_node(node, ExclusiveLock);
}

}  // namespace gencontrol

GENCONTROL_FUNCTION(node_lock_for_delete) {
    std::int64_t node = PG_GETARG_INT64(0);
    return gencontrol::pg::entry([&] {
        gencontrol::lock_node_for_delete(node);
        return Datum(0);
    });
}

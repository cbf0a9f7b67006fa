// (1.1) gen_re_attach's read of a node's shards: an index-only scan of tenant_shards_attached_node
// written out, so that 100,000 shards cost no executor, no SPI tuple copies and no heap visits.
#include "attached_shards.hpp"

#include "guards.hpp"
#include "relation_oids.hpp"

extern "C" {
#include "access/visibilitymap.h"
}

namespace gencontrol {
namespace {

struct Shape {
    Oid table = InvalidOid;
    Oid index = InvalidOid;
};
Shape shape;

void forget(Datum, Oid relid) {
    if (!OidIsValid(relid) || relid == shape.table || relid == shape.index) shape = Shape{};
}

void learn() {
    Shape learned;
    learned.table = relation_oid("tenant_shards_stored");
    learned.index = relation_oid("tenant_shards_attached_node");
    shape = learned;
}

// The index's columns: (attached_node, id) INCLUDE (base_generation, base_epoch, stripe_size).
constexpr AttrNumber kId = 2, kBaseGeneration = 3, kBaseEpoch = 4, kStripeSize = 5;

}  // namespace

void for_each_attached_shard(std::int64_t node, Snapshot snapshot,
                             const std::function<bool(const AttachedShard&)>& each) {
    if (!OidIsValid(shape.table)) learn();
    Relation table = table_open(shape.table, AccessShareLock);
    Relation index = index_open(shape.index, AccessShareLock);
    if (IndexRelationGetNumberOfAttributes(index) != kStripeSize)
        elog(ERROR, "gencontrol: index tenant_shards_attached_node does not have the expected columns");
    Snapshot registered = RegisterSnapshot(snapshot);
    TupleTableSlot* slot = table_slot_create(table, nullptr);
    IndexScanDesc scan = index_beginscan(table, index, registered, 1, 0);
    scan->xs_want_itup = true;
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(node));
    index_rescan(scan, &key, 1, nullptr, 0);
    Buffer vm_buffer = InvalidBuffer;
    std::uint64_t seen = 0;
    while (ItemPointer tid = index_getnext_tid(scan, ForwardScanDirection)) {
        if ((++seen & 1023) == 0) CHECK_FOR_INTERRUPTS();
        // On a page not known all-visible, the entry counts only if its row is visible (the
        // included columns are the same in every version of a HOT chain).
        if (!VM_ALL_VISIBLE(table, ItemPointerGetBlockNumber(tid), &vm_buffer)) {
            bool visible = index_fetch_heap(scan, slot);
            ExecClearTuple(slot);
            if (!visible) continue;
        }
        IndexTuple entry = scan->xs_itup;
        TupleDesc desc = scan->xs_itupdesc;
        bool id_null, generation_null, epoch_null, stripe_null;
        AttachedShard shard;
        shard.id = index_getattr(entry, kId, desc, &id_null);
        Datum generation = index_getattr(entry, kBaseGeneration, desc, &generation_null);
        Datum epoch = index_getattr(entry, kBaseEpoch, desc, &epoch_null);
        Datum stripe = index_getattr(entry, kStripeSize, desc, &stripe_null);
        // A check constraint keeps an attached shard's base_generation and base_epoch set.
        if (id_null || generation_null || epoch_null) continue;
        shard.base_generation = DatumGetInt32(generation);
        shard.base_epoch = DatumGetInt64(epoch);
        shard.stripe_size = stripe_null ? 0 : DatumGetInt32(stripe);
        if (!each(shard)) break;
    }
    if (vm_buffer != InvalidBuffer) ReleaseBuffer(vm_buffer);
    index_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    UnregisterSnapshot(registered);
    index_close(index, NoLock);
    table_close(table, NoLock);
}

void register_attached_shards_invalidation() {
    CacheRegisterRelcacheCallback(forget, Datum(0));
}

}  // namespace gencontrol

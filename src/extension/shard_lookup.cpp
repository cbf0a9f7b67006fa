// Direct index probes of tenant_shards by primary key. The snapshot is registered for the
// whole call, so every probe of one batch answers as of the same instant.
#include "shard_lookup.hpp"

#include "guards.hpp"

namespace gencontrol {

void ShardLookup::open(Snapshot snapshot) {
    pg::call([&] {
        Oid schema = get_namespace_oid("gencontrol", false);
        Oid table_oid = get_relname_relid("tenant_shards", schema);
        if (!OidIsValid(table_oid)) elog(ERROR, "gencontrol: table gencontrol.tenant_shards is missing");
        table_ = table_open(table_oid, AccessShareLock);
        Oid index_oid = RelationGetPrimaryKeyIndex(table_);
        if (!OidIsValid(index_oid)) elog(ERROR, "gencontrol: gencontrol.tenant_shards has no primary key");
        index_ = index_open(index_oid, AccessShareLock);

        Oid key_type = index_->rd_opcintype[0];
        Oid equal_op = get_opfamily_member(index_->rd_opfamily[0], key_type, key_type, BTEqualStrategyNumber);
        equal_proc_ = get_opcode(equal_op);
        generation_column_ = get_attnum(table_oid, "generation");
        deleted_column_ = get_attnum(table_oid, "deleted_at");
        if (!RegProcedureIsValid(equal_proc_) || generation_column_ == InvalidAttrNumber ||
            deleted_column_ == InvalidAttrNumber)
            elog(ERROR, "gencontrol: gencontrol.tenant_shards does not have the expected shape");

        snapshot_ = RegisterSnapshot(snapshot);
        slot_ = table_slot_create(table_, nullptr);
        scan_ = index_beginscan(table_, index_, snapshot_, 1, 0);
    });
}

ShardState ShardLookup::find(Datum tenant) {
    return pg::call([&] {
        ScanKeyData key;
        ScanKeyInit(&key, 1, BTEqualStrategyNumber, equal_proc_, tenant);
        index_rescan(scan_, &key, 1, nullptr, 0);
        ShardState state;
        // The key is unique, so under an MVCC snapshot at most one version is visible.
        if (index_getnext_slot(scan_, ForwardScanDirection, slot_)) {
            bool generation_null, deleted_null;
            Datum generation = slot_getattr(slot_, generation_column_, &generation_null);
            (void)slot_getattr(slot_, deleted_column_, &deleted_null);
            state.known = deleted_null;
            state.generation = generation_null ? 0 : DatumGetInt32(generation);
        }
        ExecClearTuple(slot_);
        return state;
    });
}

void ShardLookup::close() {
    pg::call([&] {
        index_endscan(scan_);
        ExecDropSingleTupleTableSlot(slot_);
        UnregisterSnapshot(snapshot_);
        index_close(index_, NoLock);
        table_close(table_, NoLock);
    });
    scan_ = nullptr;
    slot_ = nullptr;
    index_ = nullptr;
    table_ = nullptr;
}

}  // namespace gencontrol

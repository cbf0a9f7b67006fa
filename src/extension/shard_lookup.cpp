// Direct index probes of tenant_shards by primary key. The snapshot is registered for the
// whole call, so every probe of one batch answers as of the same instant.
#include "shard_lookup.hpp"

#include "guards.hpp"

namespace gencontrol {

namespace {

// What a probe needs to know about tenant_shards, looked up once per backend and forgotten
// when PostgreSQL invalidates the table (ALTER, or DROP and CREATE EXTENSION).
struct TableShape {
    Oid table = InvalidOid;
    Oid index = InvalidOid;
    RegProcedure equal_proc = InvalidOid;
    AttrNumber generation_column = InvalidAttrNumber;
    AttrNumber deleted_column = InvalidAttrNumber;
};

TableShape shape;

void forget_shape(Datum, Oid relid) {
    if (!OidIsValid(relid) || relid == shape.table || relid == shape.index) shape = TableShape{};
}

// Runs inside pg::call: may raise.
void learn_shape() {
    TableShape learned;
    Oid schema = get_namespace_oid("gencontrol", false);
    learned.table = get_relname_relid("tenant_shards", schema);
    if (!OidIsValid(learned.table)) elog(ERROR, "gencontrol: table gencontrol.tenant_shards is missing");
    Relation table = table_open(learned.table, AccessShareLock);
    learned.index = RelationGetPrimaryKeyIndex(table);
    table_close(table, NoLock);
    if (!OidIsValid(learned.index)) elog(ERROR, "gencontrol: gencontrol.tenant_shards has no primary key");
    Relation index = index_open(learned.index, AccessShareLock);
    Oid key_type = index->rd_opcintype[0];
    Oid equal_op = get_opfamily_member(index->rd_opfamily[0], key_type, key_type, BTEqualStrategyNumber);
    index_close(index, NoLock);
    learned.equal_proc = get_opcode(equal_op);
    learned.generation_column = get_attnum(learned.table, "generation");
    learned.deleted_column = get_attnum(learned.table, "deleted_at");
    if (!RegProcedureIsValid(learned.equal_proc) || learned.generation_column == InvalidAttrNumber ||
        learned.deleted_column == InvalidAttrNumber)
        elog(ERROR, "gencontrol: gencontrol.tenant_shards does not have the expected shape");
    shape = learned;
}

}  // namespace

void register_shard_lookup_invalidation() {
    CacheRegisterRelcacheCallback(forget_shape, Datum(0));
}

void ShardLookup::open(Snapshot snapshot) {
    pg::call([&] {
        if (!OidIsValid(shape.table)) learn_shape();
        table_ = table_open(shape.table, AccessShareLock);
        index_ = index_open(shape.index, AccessShareLock);
        snapshot_ = RegisterSnapshot(snapshot);
        slot_ = table_slot_create(table_, nullptr);
        scan_ = index_beginscan(table_, index_, snapshot_, 1, 0);
    });
}

ShardState ShardLookup::find(Datum tenant) {
    return pg::call([&] {
        // Every probe of a long batch is a point where it can be cancelled (finding 6, issue 9).
        CHECK_FOR_INTERRUPTS();
        ScanKeyData key;
        ScanKeyInit(&key, 1, BTEqualStrategyNumber, shape.equal_proc, tenant);
        index_rescan(scan_, &key, 1, nullptr, 0);
        ShardState state;
        // The key is unique, so under an MVCC snapshot at most one version is visible.
        if (index_getnext_slot(scan_, ForwardScanDirection, slot_)) {
            bool generation_null, deleted_null;
            Datum generation = slot_getattr(slot_, shape.generation_column, &generation_null);
            (void)slot_getattr(slot_, shape.deleted_column, &deleted_null);
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

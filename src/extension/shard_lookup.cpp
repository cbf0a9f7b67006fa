// Direct index probes of a tenant shard's stored row by primary key. The snapshot is registered
// for the whole call, so every probe of one batch answers as of the same instant.
#include "shard_lookup.hpp"

#include "guards.hpp"
#include "relation_oids.hpp"
#include "layout.hpp"

extern "C" {
#include "catalog/pg_collation.h"
#include "utils/memutils.h"
}

namespace gencontrol {

namespace {

// What a probe needs to know about tenant_shards, looked up once per backend and forgotten
// when PostgreSQL invalidates the table (ALTER, or DROP and CREATE EXTENSION).
struct TableShape {
    Oid table = InvalidOid;
    Oid index = InvalidOid;
    AttrNumber generation_column = InvalidAttrNumber;
    AttrNumber deleted_column = InvalidAttrNumber;
    AttrNumber node_column = InvalidAttrNumber;
    AttrNumber base_epoch_column = InvalidAttrNumber;  // 1.1 only
    AttrNumber stripe_size_column = InvalidAttrNumber; // 1.1 only
    AttrNumber secondary_nodes_column = InvalidAttrNumber;  // 1.1 only
    Layout layout = Layout::node_epochs;
};

TableShape shape;

void forget_shape(Datum, Oid relid) {
    if (!OidIsValid(relid) || relid == shape.table || relid == shape.index) shape = TableShape{};
}

// Runs inside pg::call: may raise.
void learn_shape(Layout layout) {
    TableShape learned;
    learned.layout = layout;
    bool epochs = layout == Layout::node_epochs;
    learned.table = relation_oid(epochs ? "tenant_shards_stored" : "tenant_shards");
    Relation table = table_open(learned.table, AccessShareLock);
    learned.index = RelationGetPrimaryKeyIndex(table);
    table_close(table, NoLock);
    if (!OidIsValid(learned.index)) elog(ERROR, "gencontrol: gencontrol.tenant_shards has no primary key");
    learned.generation_column = get_attnum(learned.table, epochs ? "base_generation" : "generation");
    learned.deleted_column = get_attnum(learned.table, "deleted_at");
    learned.node_column = get_attnum(learned.table, "attached_node");
    if (epochs) {
        learned.base_epoch_column = get_attnum(learned.table, "base_epoch");
        learned.stripe_size_column = get_attnum(learned.table, "stripe_size");
        learned.secondary_nodes_column = get_attnum(learned.table, "secondary_nodes");
    }
    if (learned.generation_column == InvalidAttrNumber ||
        learned.deleted_column == InvalidAttrNumber || learned.node_column == InvalidAttrNumber ||
        (epochs && (learned.base_epoch_column == InvalidAttrNumber || learned.stripe_size_column == InvalidAttrNumber ||
                    learned.secondary_nodes_column == InvalidAttrNumber)))
        elog(ERROR, "gencontrol: gencontrol.tenant_shards does not have the expected shape");
    shape = learned;
}

// The equality function of the operator family of the last key tenant_shard_key made, resolved
// for this backend.
Oid resolved_family = InvalidOid;
FmgrInfo equality_function;

// The columns of a stored row version a writer needs, and where the version is.
LockedRow row_in(TupleTableSlot* slot) {
    LockedRow row;
    row.exists = true;
    row.tid = slot->tts_tid;
    bool is_null;
    Datum value = slot_getattr(slot, shape.generation_column, &is_null);
    if (!is_null) row.base_generation = DatumGetInt32(value);
    (void)slot_getattr(slot, shape.deleted_column, &is_null);
    row.deleted = !is_null;
    value = slot_getattr(slot, shape.node_column, &is_null);
    if (!is_null) row.node = DatumGetInt64(value);
    value = slot_getattr(slot, shape.stripe_size_column, &is_null);
    if (!is_null) row.stripe_size = DatumGetInt32(value);
    value = slot_getattr(slot, shape.base_epoch_column, &is_null);
    if (!is_null) row.base_epoch = DatumGetInt64(value);
    value = slot_getattr(slot, shape.secondary_nodes_column, &is_null);
    if (!is_null) row.secondary_nodes = PointerGetDatum(PG_DETOAST_DATUM_COPY(value));  // outlives the slot
    return row;
}

}  // namespace

void tenant_shard_key(ScanKeyData* key, Relation index, AttrNumber column, Datum tenant) {
    Oid family = index->rd_opfamily[column - 1];
    if (resolved_family != family) {
        Oid type = index->rd_opcintype[column - 1];
        RegProcedure equality = get_opcode(get_opfamily_member(family, type, type, BTEqualStrategyNumber));
        if (!RegProcedureIsValid(equality))
            elog(ERROR, "gencontrol: index %s has no equality operator for its column %d",
                 RelationGetRelationName(index), column);
        resolved_family = InvalidOid;
        fmgr_info_cxt(equality, &equality_function, TopMemoryContext);
        resolved_family = family;
    }
    // What ScanKeyInit sets, with the function already resolved.
    ScanKeyEntryInitializeWithInfo(key, 0, column, BTEqualStrategyNumber, InvalidOid, C_COLLATION_OID,
                                   &equality_function, tenant);
}

void register_shard_lookup_invalidation() {
    CacheRegisterRelcacheCallback(forget_shape, Datum(0));
}

void ShardLookup::open(Snapshot snapshot, bool with_epochs, LOCKMODE lock) {
    Layout current = layout();
    pg::call([&] {
        if (!OidIsValid(shape.table) || shape.layout != current) learn_shape(current);
        table_ = table_open(shape.table, lock);
        index_ = index_open(shape.index, lock);
        snapshot_ = RegisterSnapshot(snapshot);
        slot_ = table_slot_create(table_, nullptr);
        scan_ = index_beginscan(table_, index_, snapshot_, 1, 0);
    });
    node_epochs_ = current == Layout::node_epochs;
    with_epochs_ = node_epochs_ && with_epochs;
    if (with_epochs_) epochs_.open(snapshot_);
}

ShardState ShardLookup::find(Datum tenant) {
    std::optional<std::int64_t> base_epoch;  // 1.1, attached: the node's epoch when it attached
    ShardState state = pg::call([&] {
        // Every probe of a long batch is a point where it can be cancelled (finding 6, issue 9).
        CHECK_FOR_INTERRUPTS();
        ScanKeyData key;
        tenant_shard_key(&key, index_, 1, tenant);
        index_rescan(scan_, &key, 1, nullptr, 0);
        ShardState found;
        // The key is unique, so under an MVCC snapshot at most one version is visible.
        if (index_getnext_slot(scan_, ForwardScanDirection, slot_)) {
            bool generation_null, deleted_null, node_null;
            Datum generation = slot_getattr(slot_, shape.generation_column, &generation_null);
            (void)slot_getattr(slot_, shape.deleted_column, &deleted_null);
            Datum node = slot_getattr(slot_, shape.node_column, &node_null);
            found.known = deleted_null;
            found.generation = generation_null ? 0 : DatumGetInt32(generation);
            if (!node_null) found.node = DatumGetInt64(node);
            if (node_epochs_ && !node_null) {
                bool epoch_null;
                Datum epoch = slot_getattr(slot_, shape.base_epoch_column, &epoch_null);
                if (!epoch_null) base_epoch = DatumGetInt64(epoch);
            }
        }
        ExecClearTuple(slot_);
        return found;
    });
    // 1.1: an attached shard's generation also counts its node's re-attaches since it attached.
    if (with_epochs_ && state.node) {
        auto node = epochs_.find(*state.node);
        // A node row is never removed (nodes guard) and an attached row has a base_epoch (a
        // check constraint); without them no generation can match.
        state.generation =
            node && base_epoch ? current_generation(state.generation, *base_epoch, node->epoch) : 0;
    }
    return state;
}

LockedRow ShardLookup::lock(Datum tenant, LockTupleMode mode) {
    if (!node_epochs_) pg::raise(ERRCODE_INTERNAL_ERROR, "gencontrol: ShardLookup::lock needs the 1.1 layout");
    return pg::call([&] {
        // The table lock SELECT ... FOR UPDATE takes (LOCK TABLE ... EXCLUSIVE keeps it out).
        LockRelationOid(RelationGetRelid(table_), RowShareLock);
        ScanKeyData key;
        tenant_shard_key(&key, index_, 1, tenant);
        index_rescan(scan_, &key, 1, nullptr, 0);
        if (!index_getnext_slot(scan_, ForwardScanDirection, slot_)) return LockedRow{};
        // slot_ keeps the page pinned, so the version found cannot be pruned away before it is
        // locked. The flags and results are ExecLockRows' (nodeLockRows.c): in READ COMMITTED a
        // newer committed version is followed to and locked; under a transaction snapshot a
        // version updated after it is a serialization failure.
        if (locked_slot_ == nullptr) locked_slot_ = table_slot_create(table_, nullptr);
        ItemPointerData tid = slot_->tts_tid;
        TM_FailureData failure;
        int flags = TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS;
        if (!IsolationUsesXactSnapshot()) flags |= TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
        TM_Result result = table_tuple_lock(table_, &tid, snapshot_, locked_slot_, GetCurrentCommandId(true), mode,
                                            LockWaitBlock, flags, &failure);
        ExecClearTuple(slot_);
        if (result == TM_Updated && IsolationUsesXactSnapshot())
            ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                            errmsg("could not serialize access due to concurrent update")));
        if (result == TM_Deleted) {  // rows are never deleted (guard trigger); as SELECT would, skip it
            if (IsolationUsesXactSnapshot())
                ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                                errmsg("could not serialize access due to concurrent delete")));
            return LockedRow{};
        }
        if (result != TM_Ok)
            elog(ERROR, "gencontrol: unexpected result %d locking a tenant shard row", static_cast<int>(result));
        LockedRow row = row_in(locked_slot_);
        ExecClearTuple(locked_slot_);
        return row;
    });
}

LockedRow ShardLookup::read(Datum tenant) {
    if (!node_epochs_) pg::raise(ERRCODE_INTERNAL_ERROR, "gencontrol: ShardLookup::read needs the 1.1 layout");
    return pg::call([&] {
        ExecClearTuple(slot_);  // lets go of the version the previous read kept
        ScanKeyData key;
        tenant_shard_key(&key, index_, 1, tenant);
        index_rescan(scan_, &key, 1, nullptr, 0);
        if (!index_getnext_slot(scan_, ForwardScanDirection, slot_)) return LockedRow{};
        return row_in(slot_);  // slot_ keeps the page pinned
    });
}

void ShardLookup::close() {
    if (with_epochs_) epochs_.close();
    pg::call([&] {
        if (locked_slot_ != nullptr) ExecDropSingleTupleTableSlot(locked_slot_);
        index_endscan(scan_);
        ExecDropSingleTupleTableSlot(slot_);
        UnregisterSnapshot(snapshot_);
        index_close(index_, NoLock);
        table_close(table_, NoLock);
    });
    scan_ = nullptr;
    slot_ = nullptr;
    locked_slot_ = nullptr;
    index_ = nullptr;
    table_ = nullptr;
}

}  // namespace gencontrol

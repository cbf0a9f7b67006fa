// (1.1) Direct primary-key probes of gencontrol.nodes for a node's epoch and status, and the
// note by which gen_re_attach tells the nodes guard that it has already checked its bump.
#include "node_epochs.hpp"

#include "guards.hpp"

extern "C" {
#include "storage/proc.h"
}

namespace gencontrol {
namespace {

struct NodesShape {
    Oid table = InvalidOid;
    Oid index = InvalidOid;
    AttrNumber epoch_column = InvalidAttrNumber;
    AttrNumber status_column = InvalidAttrNumber;
};

NodesShape shape;

void forget_shape(Datum, Oid relid) {
    if (!OidIsValid(relid) || relid == shape.table || relid == shape.index) shape = NodesShape{};
}

// Runs inside pg::call: may raise.
void learn_shape() {
    NodesShape learned;
    learned.table = get_relname_relid("nodes", get_namespace_oid("gencontrol", false));
    if (!OidIsValid(learned.table)) elog(ERROR, "gencontrol: table gencontrol.nodes is missing");
    Relation table = table_open(learned.table, AccessShareLock);
    learned.index = RelationGetPrimaryKeyIndex(table);
    table_close(table, NoLock);
    learned.epoch_column = get_attnum(learned.table, "epoch");
    learned.status_column = get_attnum(learned.table, "status");
    if (!OidIsValid(learned.index) || learned.epoch_column == InvalidAttrNumber ||
        learned.status_column == InvalidAttrNumber)
        elog(ERROR, "gencontrol: gencontrol.nodes does not have the expected shape");
    shape = learned;
}

struct Vouched {
    LocalTransactionId transaction = InvalidLocalTransactionId;
    std::int64_t node = 0;
    std::int64_t epoch = 0;
};
Vouched vouched;

}  // namespace

void NodeEpochs::open(Snapshot snapshot) {
    pg::call([&] {
        if (!OidIsValid(shape.table)) learn_shape();
        table_ = table_open(shape.table, AccessShareLock);
        index_ = index_open(shape.index, AccessShareLock);
        snapshot_ = RegisterSnapshot(snapshot);
        slot_ = table_slot_create(table_, nullptr);
        scan_ = index_beginscan(table_, index_, snapshot_, 1, 0);
    });
}

std::optional<NodeState> NodeEpochs::find(std::int64_t node) {
    if (auto known = seen_.find(node); known != seen_.end()) return known->second;
    std::optional<NodeState> state = pg::call([&] {
        ScanKeyData key;
        ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(node));
        index_rescan(scan_, &key, 1, nullptr, 0);
        std::optional<NodeState> found;
        if (index_getnext_slot(scan_, ForwardScanDirection, slot_)) {
            bool epoch_null, status_null;
            Datum epoch = slot_getattr(slot_, shape.epoch_column, &epoch_null);
            Datum status = slot_getattr(slot_, shape.status_column, &status_null);
            NodeState node_state;
            node_state.epoch = epoch_null ? 0 : DatumGetInt64(epoch);
            if (!status_null) {
                text* status_text = DatumGetTextPP(status);
                node_state.deleted = VARSIZE_ANY_EXHDR(status_text) == 7 &&
                                     memcmp(VARDATA_ANY(status_text), "deleted", 7) == 0;
            }
            found = node_state;
        }
        ExecClearTuple(slot_);
        return found;
    });
    seen_.emplace(node, state);
    return state;
}

void NodeEpochs::close() {
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
    seen_.clear();
}

void vouch_for_epoch(std::int64_t node, std::int64_t epoch) {
    vouched = Vouched{MyProc->lxid, node, epoch};
}

bool epoch_vouched_for(std::int64_t node, std::int64_t epoch) {
    return vouched.transaction == MyProc->lxid && vouched.node == node && vouched.epoch == epoch;
}

void register_node_epochs_invalidation() {
    CacheRegisterRelcacheCallback(forget_shape, Datum(0));
}

}  // namespace gencontrol

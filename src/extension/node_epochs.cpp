// (1.1) Direct primary-key probes of gencontrol.nodes for a node's epoch and status, and the
// note by which gen_re_attach tells the nodes guard that it has already checked its bump.
#include "node_epochs.hpp"

#include "guards.hpp"
#include "relation_oids.hpp"

extern "C" {
#include "storage/proc.h"
}

namespace gencontrol {
namespace {

struct NodesShape {
    Oid table = InvalidOid;
    Oid index = InvalidOid;
    AttrNumber id_column = InvalidAttrNumber;
    AttrNumber epoch_column = InvalidAttrNumber;
    AttrNumber status_column = InvalidAttrNumber;
};

NodesShape shape;

// Where this backend last found each node's row: the root of its HOT chain. A stale entry
// (VACUUM reused the position, or a non-HOT update moved the row) is noticed by the node id or a
// miss, and the primary key is asked instead; a relcache invalidation (VACUUM FULL, CLUSTER,
// a new table) forgets them all.
std::unordered_map<std::int64_t, ItemPointerData> positions;

void forget_shape(Datum, Oid relid) {
    if (!OidIsValid(relid) || relid == shape.table || relid == shape.index) {
        shape = NodesShape{};
        positions.clear();
    }
}

// Runs inside pg::call: may raise.
void learn_shape() {
    NodesShape learned;
    learned.table = relation_oid("nodes");
    Relation table = table_open(learned.table, AccessShareLock);
    learned.index = RelationGetPrimaryKeyIndex(table);
    table_close(table, NoLock);
    learned.id_column = get_attnum(learned.table, "node_id");
    learned.epoch_column = get_attnum(learned.table, "epoch");
    learned.status_column = get_attnum(learned.table, "status");
    if (!OidIsValid(learned.index) || learned.id_column == InvalidAttrNumber || learned.epoch_column == InvalidAttrNumber ||
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
        snapshot_ = RegisterSnapshot(snapshot);
        slot_ = table_slot_create(table_, nullptr);
        fetch_ = table_index_fetch_begin(table_);
    });
}

// Runs inside pg::call. The row in slot_, if it is node `node`'s.
std::optional<NodeState> NodeEpochs::read_slot(std::int64_t node) {
    bool id_null, epoch_null, status_null;
    Datum id = slot_getattr(slot_, shape.id_column, &id_null);
    if (id_null || DatumGetInt64(id) != node) return std::nullopt;  // the position was reused
    Datum epoch = slot_getattr(slot_, shape.epoch_column, &epoch_null);
    Datum status = slot_getattr(slot_, shape.status_column, &status_null);
    NodeState state;
    state.epoch = epoch_null ? 0 : DatumGetInt64(epoch);
    if (!status_null) {
        text* status_text = DatumGetTextPP(status);
        state.deleted = VARSIZE_ANY_EXHDR(status_text) == 7 && memcmp(VARDATA_ANY(status_text), "deleted", 7) == 0;
    }
    return state;
}

// Runs inside pg::call.
std::optional<NodeState> NodeEpochs::probe_index(std::int64_t node) {
    if (index_ == nullptr) {
        index_ = index_open(shape.index, AccessShareLock);
        scan_ = index_beginscan(table_, index_, snapshot_, 1, 0);
    }
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(node));
    index_rescan(scan_, &key, 1, nullptr, 0);
    std::optional<NodeState> found;
    if (index_getnext_slot(scan_, ForwardScanDirection, slot_)) {
        found = read_slot(node);
        positions[node] = scan_->xs_heaptid;  // the root of the row's HOT chain
    }
    ExecClearTuple(slot_);
    return found;
}

std::optional<NodeState> NodeEpochs::find(std::int64_t node) {
    if (auto known = seen_.find(node); known != seen_.end()) return known->second;
    std::optional<NodeState> state = pg::call([&] {
        if (auto position = positions.find(node); position != positions.end()) {
            ItemPointerData tid = position->second;
            bool call_again = false, all_dead = false;
            // VACUUM may have truncated the table below a remembered position.
            if (blocks_ == InvalidBlockNumber) blocks_ = RelationGetNumberOfBlocks(table_);
            if (ItemPointerGetBlockNumber(&tid) < blocks_ &&
                table_index_fetch_tuple(fetch_, &tid, snapshot_, slot_, &call_again, &all_dead)) {
                std::optional<NodeState> fetched = read_slot(node);
                ExecClearTuple(slot_);
                if (fetched) return fetched;
            }
        }
        return probe_index(node);
    });
    seen_.emplace(node, state);
    return state;
}

void NodeEpochs::close() {
    pg::call([&] {
        if (scan_ != nullptr) index_endscan(scan_);
        if (index_ != nullptr) index_close(index_, NoLock);
        table_index_fetch_end(fetch_);
        ExecDropSingleTupleTableSlot(slot_);
        UnregisterSnapshot(snapshot_);
        table_close(table_, NoLock);
    });
    scan_ = nullptr;
    fetch_ = nullptr;
    blocks_ = InvalidBlockNumber;
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

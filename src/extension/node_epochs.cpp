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

// Runs inside pg::call. Whether `block` lies within the table, which VACUUM may have truncated
// below a remembered position. Asking the kernel (an lseek) was a few percent of a single
// validate, so the length smgr last learned is trusted when it covers the block: it never
// exceeds the file's while this backend holds a lock on the table, because a truncation by another
// backend (under ACCESS EXCLUSIVE) sends an smgr invalidation at once, which closes this
// backend's smgr relation and so forgets the length before the lock is granted, and a truncation
// by this backend lowers it (smgrtruncate). Otherwise the file is asked, which refreshes it.
// (VACUUM's relcache invalidation, which forgets the positions, arrives only when it commits;
// test/integration/extension/test_node_positions.py widens that window.)
bool within_table(Relation table, BlockNumber block) {
    SMgrRelation smgr = RelationGetSmgr(table);
    BlockNumber known = smgr->smgr_cached_nblocks[MAIN_FORKNUM];
    if (known != InvalidBlockNumber && block < known) return true;
    return block < smgrnblocks(smgr, MAIN_FORKNUM);
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

const std::optional<NodeState>* NodeEpochs::seen(std::int64_t node) const {
    for (int at = 0; at < inline_count_; ++at)
        if (inline_seen_[at].node == node) return &inline_seen_[at].state;
    if (auto known = more_seen_.find(node); known != more_seen_.end()) return &known->second;
    return nullptr;
}

void NodeEpochs::remember(std::int64_t node, const std::optional<NodeState>& state) {
    if (inline_count_ < kInline)
        inline_seen_[inline_count_++] = Seen{node, state};
    else
        more_seen_.emplace(node, state);
}

std::optional<NodeState> NodeEpochs::find(std::int64_t node) {
    if (const std::optional<NodeState>* known = seen(node)) return *known;
    std::optional<NodeState> state = pg::call([&] {
        if (auto position = positions.find(node); position != positions.end()) {
            ItemPointerData tid = position->second;
            bool call_again = false, all_dead = false;
            if (within_table(table_, ItemPointerGetBlockNumber(&tid)) &&
                table_index_fetch_tuple(fetch_, &tid, snapshot_, slot_, &call_again, &all_dead)) {
                std::optional<NodeState> fetched = read_slot(node);
                ExecClearTuple(slot_);
                if (fetched) return fetched;
            }
        }
        return probe_index(node);
    });
    remember(node, state);
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
    slot_ = nullptr;
    index_ = nullptr;
    table_ = nullptr;
    inline_count_ = 0;
    more_seen_.clear();
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

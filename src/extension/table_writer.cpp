// Heap inserts and updates with their index entries, the executor's per-row work without the
// executor's per-statement start (plans, expression compilation, CHECK parsing, trigger queues).
#include "table_writer.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "guards.hpp"
#include "relation_oids.hpp"

extern "C" {
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "utils/inval.h"
#include "utils/memutils.h"
}

namespace gencontrol {
namespace {

// Each index's IndexInfo, what BuildIndexInfo derives from its catalog rows (key columns,
// predicate, unique operators), kept for the backend and forgotten when PostgreSQL invalidates
// the table or the index (DROP, ALTER, the steps of CREATE INDEX CONCURRENTLY, the statistics
// VACUUM writes): rebuilding it for every call was a tenth of gen_attach's own work. An
// invalidation can arrive while a writer still uses one (opening the next index receives it), so
// forgotten ones are retired and freed only when the transaction ends.
struct KeptIndex {
    Oid table;
    Oid index;
    const IndexInfo* info;
};
MemoryContext kept_memory = nullptr;  // holds every KeptIndex::info
std::vector<KeptIndex> kept_indexes;  // a few entries: a scan beats a hash
std::vector<MemoryContext> retired_memory;

void forget(Datum, Oid relid) {
    if (OidIsValid(relid) && std::none_of(kept_indexes.begin(), kept_indexes.end(), [&](const KeptIndex& kept) {
            return kept.table == relid || kept.index == relid;
        }))
        return;
    kept_indexes.clear();
    if (kept_memory != nullptr) retired_memory.push_back(kept_memory);
    kept_memory = nullptr;
}

void free_retired(XactEvent, void*) {
    for (MemoryContext memory : retired_memory) MemoryContextDelete(memory);
    retired_memory.clear();
}

// The opened index's IndexInfo for one statement's use: a copy of the kept one with the
// executor's per-statement fields (expression states, the access method's cache, the
// unchanged-by-update hint) cleared, so nothing in it outlives this call's memory.
IndexInfo* index_info(Relation index) {
    Oid oid = RelationGetRelid(index);
    const IndexInfo* kept = nullptr;
    for (const KeptIndex& known : kept_indexes)
        if (known.index == oid) kept = known.info;
    if (kept == nullptr) {
        if (kept_memory == nullptr)
            kept_memory = AllocSetContextCreate(CacheMemoryContext, "gencontrol index infos", ALLOCSET_SMALL_SIZES);
        MemoryContext caller = MemoryContextSwitchTo(kept_memory);
        IndexInfo* built = BuildIndexInfo(index);
        MemoryContextSwitchTo(caller);
        // An invalidation received while building retired kept_memory with `built` in it.
        if (kept_memory != nullptr) kept_indexes.push_back({index->rd_index->indrelid, oid, built});
        kept = built;
    }
    IndexInfo* info = makeNode(IndexInfo);
    *info = *kept;
    info->ii_ExpressionsState = NIL;
    info->ii_PredicateState = nullptr;
    info->ii_CheckedUnchanged = false;
    info->ii_IndexUnchanged = false;
    info->ii_AmCache = nullptr;
    info->ii_Context = CurrentMemoryContext;
    return info;
}

// ExecOpenIndices, with the kept IndexInfo (index_info). Each index is opened, and so its
// invalidations received, before its IndexInfo is looked up. ExecCloseIndices undoes it.
void open_indexes(ResultRelInfo* result) {
    Relation table = result->ri_RelationDesc;
    result->ri_NumIndices = 0;
    if (!RelationGetForm(table)->relhasindex) return;
    List* oids = RelationGetIndexList(table);
    int count = list_length(oids);
    if (count == 0) return;
    result->ri_IndexRelationDescs = static_cast<RelationPtr>(palloc(count * sizeof(Relation)));
    result->ri_IndexRelationInfo = static_cast<IndexInfo**>(palloc(count * sizeof(IndexInfo*)));
    int i = 0;
    ListCell* cell;
    foreach (cell, oids) {
        Relation index = index_open(lfirst_oid(cell), RowExclusiveLock);
        result->ri_IndexRelationDescs[i] = index;
        result->ri_IndexRelationInfo[i] = index_info(index);
        result->ri_NumIndices = ++i;
    }
    list_free(oids);
}

}  // namespace

void TableWriter::open(const char* table) {
    pg::call([&] {
        Oid oid = relation_oid(table);
        relation_ = table_open(oid, RowExclusiveLock);
        estate_ = CreateExecutorState();
        // A range table of this one relation: an update tells the indexes which columns it
        // changed through the entry's updatedCols (their hint for bottom-up deletion).
        range_entry_ = makeNode(RangeTblEntry);
        range_entry_->rtekind = RTE_RELATION;
        range_entry_->relid = oid;
        range_entry_->relkind = RELKIND_RELATION;
        range_entry_->rellockmode = RowExclusiveLock;
        ExecInitRangeTable(estate_, list_make1(range_entry_));
        // InitResultRelInfo without what only triggers use: it copied the table's trigger
        // descriptor on every call, and a TableWriter fires no triggers.
        result_ = makeNode(ResultRelInfo);
        result_->ri_RangeTableIndex = 1;
        result_->ri_RelationDesc = relation_;
        open_indexes(result_);
        slot_ = table_slot_create(relation_, nullptr);
    });
}

void TableWriter::close() {
    pg::call([&] {
        ExecDropSingleTupleTableSlot(slot_);
        ExecCloseIndices(result_);
        FreeExecutorState(estate_);
        table_close(relation_, NoLock);
    });
    relation_ = nullptr;
    range_entry_ = nullptr;
    slot_ = nullptr;
    result_ = nullptr;
    estate_ = nullptr;
}

AttrNumber TableWriter::column(const char* name) const {
    // The descriptor is at hand: a few name comparisons instead of a catalog cache lookup. The
    // first letter is compared before strcmp is called: most columns differ in it, and an attach
    // looks up about ten names (a strcmp call for every column before each was 1.5% of it).
    TupleDesc desc = descriptor();
    AttrNumber number = InvalidAttrNumber;
    for (int i = 0; i < desc->natts && number == InvalidAttrNumber; ++i) {
        Form_pg_attribute attribute = TupleDescAttr(desc, i);
        const char* candidate = NameStr(attribute->attname);
        if (!attribute->attisdropped && candidate[0] == name[0] && strcmp(candidate, name) == 0)
            number = attribute->attnum;
    }
    if (number == InvalidAttrNumber)
        pg::raise(ERRCODE_INTERNAL_ERROR, std::string("gencontrol: column ") + name + " is missing from gencontrol." +
                                              RelationGetRelationName(relation_));
    return number;
}

void TableWriter::insert(Datum* values, bool* nulls) {
    pg::call([&] {
        ExecClearTuple(slot_);
        int columns = descriptor()->natts;
        for (int i = 0; i < columns; ++i) {
            slot_->tts_values[i] = values[i];
            slot_->tts_isnull[i] = nulls[i];
        }
        ExecStoreVirtualTuple(slot_);
        table_tuple_insert(relation_, slot_, GetCurrentCommandId(true), 0, nullptr);
        if (result_->ri_NumIndices > 0) {
            List* conflicts = ExecInsertIndexTuples(result_, slot_, estate_, false, false, nullptr, NIL);
            list_free(conflicts);
        }
        ExecClearTuple(slot_);
    });
}

void TableWriter::update(ItemPointer tid, const Datum* values, const bool* nulls, const bool* replace) {
    if (!update_if_latest(tid, values, nulls, replace))
        pg::raise(ERRCODE_INTERNAL_ERROR, std::string("gencontrol: the locked row of gencontrol.") +
                                              RelationGetRelationName(relation_) + " was changed by another command");
}

bool TableWriter::update_if_latest(ItemPointer tid, const Datum* values, const bool* nulls, const bool* replace) {
    return pg::call([&] {
        int columns = descriptor()->natts;
        ExecClearTuple(slot_);
        if (!table_tuple_fetch_row_version(relation_, tid, SnapshotAny, slot_))
            elog(ERROR, "gencontrol: the locked row of gencontrol.%s is gone", RelationGetRelationName(relation_));
        slot_getallattrs(slot_);
        // The new version's values: the kept ones still point into the old version's page,
        // pinned by slot_ until the new tuple is formed (materialised) from them.
        TupleTableSlot* fresh = table_slot_create(relation_, nullptr);
        for (int i = 0; i < columns; ++i) {
            fresh->tts_values[i] = replace[i] ? values[i] : slot_->tts_values[i];
            fresh->tts_isnull[i] = replace[i] ? nulls[i] : slot_->tts_isnull[i];
        }
        ExecStoreVirtualTuple(fresh);
        ExecMaterializeSlot(fresh);  // copies by-reference values before the old slot lets go
        ExecClearTuple(slot_);

        TM_FailureData failure;
        LockTupleMode lock_mode;
        bool update_indexes = false;
        TM_Result result = table_tuple_update(relation_, tid, fresh, GetCurrentCommandId(true), GetActiveSnapshot(),
                                              InvalidSnapshot, true, &failure, &lock_mode, &update_indexes);
        // What the executor's UPDATE meets (ExecUpdate): a newer version committed by another
        // transaction (Updated, Deleted), or this transaction's own later change (SelfModified,
        // Invisible), which the callers' CommandCounterIncrement after each write rules out.
        if (result == TM_Updated || result == TM_Deleted) {
            ExecDropSingleTupleTableSlot(fresh);
            return false;
        }
        if (result != TM_Ok)
            elog(ERROR, "gencontrol: unexpected result %d updating a row of gencontrol.%s", static_cast<int>(result),
                 RelationGetRelationName(relation_));
        if (update_indexes && result_->ri_NumIndices > 0) {
            range_entry_->updatedCols = nullptr;
            for (int i = 0; i < columns; ++i)
                if (replace[i])
                    range_entry_->updatedCols = bms_add_member(range_entry_->updatedCols,
                                                               i + 1 - FirstLowInvalidHeapAttributeNumber);
            List* conflicts = ExecInsertIndexTuples(result_, fresh, estate_, true, false, nullptr, NIL);
            list_free(conflicts);
        }
        ExecDropSingleTupleTableSlot(fresh);
        return true;
    });
}

void register_table_writer_invalidation() {
    CacheRegisterRelcacheCallback(forget, Datum(0));
    RegisterXactCallback(free_retired, nullptr);
}

}  // namespace gencontrol

// Inserts and updates rows of gencontrol's own tables without SQL: a heap write and its index
// entries, for the hot writers whose statements cost more to start than to run (gen_attach).
#pragma once

#include <optional>
#include <string>

#include "pg.hpp"

namespace gencontrol {

// One table of schema gencontrol, opened for writing (RowExclusiveLock) with its indexes for
// the duration of one SQL call. What it does not do, the caller answers for: no ACL check (the
// callers are SECURITY DEFINER functions that own the table), no CHECK constraints and no
// triggers, so a caller writes only values that satisfy them by construction and runs the
// table's guard itself. Unique indexes are checked as an INSERT or UPDATE would. Used between
// open() and close() only, like ShardLookup: a PostgreSQL error in between aborts the
// transaction, which releases the relations, the slots and the executor state.
class TableWriter {
public:
    void open(const char* table);  // a string literal (relation_oids.hpp)
    void close();

    TupleDesc descriptor() const { return RelationGetDescr(relation_); }
    Oid relation_id() const { return RelationGetRelid(relation_); }
    AttrNumber column(const char* name) const;

    // Inserts a row (one value and null flag per column of descriptor()).
    void insert(Datum* values, bool* nulls);

    // Replaces the columns marked in `replace` of the row version at `tid`, which this
    // transaction has locked (so no other can have updated it), and adds its index entries
    // unless the update was heap-only.
    void update(ItemPointer tid, const Datum* values, const bool* nulls, const bool* replace);

    // The same for a row version this transaction has not locked: waits for a concurrent
    // writer of it, as UPDATE does, and then updates it only if it is still the latest version.
    // False when another transaction updated it first: nothing was written, no lock is kept.
    // The caller keeps the version pinned from reading it until this returns (ShardLookup::read).
    bool update_if_latest(ItemPointer tid, const Datum* values, const bool* nulls, const bool* replace);

private:
    Relation relation_ = nullptr;
    EState* estate_ = nullptr;
    RangeTblEntry* range_entry_ = nullptr;
    ResultRelInfo* result_ = nullptr;
    TupleTableSlot* slot_ = nullptr;
};

// Registers the invalidation and end-of-transaction callbacks; called once from _PG_init.
void register_table_writer_invalidation();

}  // namespace gencontrol

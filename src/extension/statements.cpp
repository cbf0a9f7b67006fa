// Saved SPI plans: prepared on first use, re-prepared if the extension's type was recreated
// (DROP and CREATE EXTENSION in one session would otherwise leave plans naming a dead type).
// The type's OID is looked up again only after PostgreSQL signals a change to pg_type.
#include "statements.hpp"

#include <cstring>
#include <vector>

#include "guards.hpp"

extern "C" {
#include "storage/proc.h"
}

namespace gencontrol::spi {
namespace {

Oid cached_type = InvalidOid;   // invalid after any pg_type change: look it up again
Oid planned_type = InvalidOid;  // the type the saved plans were prepared with
std::uint64_t plan_epoch = 1;

void forget_type(Datum, int, uint32) {
    cached_type = InvalidOid;
}

Oid lookup_type() {
    Oid schema = get_namespace_oid("gencontrol", false);
    return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("tenant_shard_id"),
                           ObjectIdGetDatum(schema));
}

Oid oid_for(char letter, Oid tenant_type) {
    switch (letter) {
        case 'T': return tenant_type;
        case 'A': return pg::call([&] { return get_array_type(tenant_type); });
        case 'i': return INT4OID;
        case 'I': return INT4ARRAYOID;
        case 'b': return INT8OID;
        case 't': return TEXTOID;
    }
    pg::raise(ERRCODE_INTERNAL_ERROR, std::string("gencontrol: unknown parameter letter '") + letter + "'");
}

// What a SECURITY DEFINER function's SET clause pins; the same string, so that inside such a
// function the check below finds it already in force.
constexpr const char* kPinnedSearchPath = "pg_catalog, gencontrol, pg_temp";

// The role the extension's SQL runs as: the extension's owner, who created it (CREATE EXTENSION
// needs a superuser) and so owns its functions and tables: the role a SECURITY DEFINER function
// of it switches to. pg_extension has no syscache, so the row is read once per transaction.
Oid extension_owner() {
    static LocalTransactionId cached_in = InvalidLocalTransactionId;
    static Oid cached_owner = InvalidOid;
    if (cached_in == MyProc->lxid && OidIsValid(cached_owner)) return cached_owner;
    Relation extensions = table_open(ExtensionRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("gencontrol"));
    SysScanDesc scan = systable_beginscan(extensions, ExtensionNameIndexId, true, nullptr, 1, &key);
    HeapTuple tuple = systable_getnext(scan);
    Oid owner = HeapTupleIsValid(tuple) ? reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner : InvalidOid;
    systable_endscan(scan);
    table_close(extensions, AccessShareLock);
    if (!OidIsValid(owner)) elog(ERROR, "gencontrol: extension gencontrol is not installed in this database");
    cached_in = MyProc->lxid;
    cached_owner = owner;
    return owner;
}

// Saved by enter_owner_context() for leave_owner_context(); entered is false when the caller
// already runs as the owner with the pinned search_path (inside a SECURITY DEFINER function).
struct OwnerContext {
    bool entered = false;
    int guc_level = 0;
    Oid saved_user = InvalidOid;
    int saved_security_context = 0;
};

// Runs inside pg::call. Does for one statement what fmgr_security_definer does for a call: the
// owner as current user (SECURITY_LOCAL_USERID_CHANGE, so the SQL cannot SET ROLE back) and
// search_path pinned at a new GUC nest level. Functions that are not SECURITY DEFINER because
// their common path runs no SQL (gen_attach) get the same protection on the paths that do: the
// caller's role needs no table privileges and the caller's search_path resolves nothing.
// An error skips leave_owner_context(); the (sub)transaction abort that follows every error
// restores the user and pops the GUC level, as it does for a SECURITY DEFINER function.
OwnerContext enter_owner_context() {
    Oid owner = extension_owner();
    if (GetUserId() == owner && namespace_search_path != nullptr &&
        strcmp(namespace_search_path, kPinnedSearchPath) == 0)
        return {};
    OwnerContext context;
    context.entered = true;
    GetUserIdAndSecContext(&context.saved_user, &context.saved_security_context);
    SetUserIdAndSecContext(owner, context.saved_security_context | SECURITY_LOCAL_USERID_CHANGE);
    context.guc_level = NewGUCNestLevel();
    (void)set_config_option("search_path", kPinnedSearchPath, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                            false);
    return context;
}

// Runs inside pg::call, after the statement succeeded.
void leave_owner_context(const OwnerContext& context) {
    if (!context.entered) return;
    AtEOXact_GUC(true, context.guc_level);
    SetUserIdAndSecContext(context.saved_user, context.saved_security_context);
}

}  // namespace

Oid tenant_shard_id_type() {
    if (!OidIsValid(cached_type)) {
        cached_type = pg::call([] { return lookup_type(); });
        if (cached_type != planned_type) {
            planned_type = cached_type;
            ++plan_epoch;
        }
    }
    return cached_type;
}

void register_type_invalidation() {
    CacheRegisterSyscacheCallback(TYPEOID, forget_type, Datum(0));
}

SPIPlanPtr Statement::plan() {
    Oid tenant_type = tenant_shard_id_type();
    if (plan_ && epoch_ == plan_epoch) return plan_;
    // Sized by the statement itself: no fixed array whose bound only an Assert would check.
    std::vector<Oid> types;
    for (const char* letter = params_; *letter; ++letter) types.push_back(oid_for(*letter, tenant_type));
    const char* sql = sql_.c_str();
    return pg::call([&] {
        if (plan_) SPI_freeplan(plan_);
        plan_ = nullptr;
        SPIPlanPtr fresh = SPI_prepare(sql, static_cast<int>(types.size()), types.data());
        if (fresh == nullptr)
            elog(ERROR, "gencontrol: SPI_prepare failed (%s) for: %s", SPI_result_code_string(SPI_result),
                 sql);
        SPI_keepplan(fresh);
        plan_ = fresh;
        epoch_ = plan_epoch;
        return fresh;
    });
}

std::uint64_t Statement::run(const Datum* values, const char* nulls, bool read_only, Snapshot snapshot) {
    // Prepared and run as the owner: parse analysis resolves names (and a replan re-resolves them)
    // with the search_path in force, so the plan must be made under the pinned one too.
    OwnerContext context = pg::call([] { return enter_owner_context(); });
    SPIPlanPtr p = plan();
    const char* sql = sql_.c_str();
    return pg::call([&] {
        int rc = snapshot != InvalidSnapshot
                     ? SPI_execute_snapshot(p, const_cast<Datum*>(values), nulls, snapshot, InvalidSnapshot,
                                            read_only, false, 0)
                     : SPI_execute_plan(p, const_cast<Datum*>(values), nulls, read_only, 0);
        if (rc < 0) elog(ERROR, "gencontrol: SPI failed (%s) for: %s", SPI_result_code_string(rc), sql);
        leave_owner_context(context);
        return static_cast<std::uint64_t>(SPI_processed);
    });
}

void connect() {
    pg::call([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "gencontrol: SPI_connect failed");
    });
}

void finish() {
    pg::call([] { SPI_finish(); });
}

Datum value(std::uint64_t row, int column, bool* is_null) {
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, is_null);
}

std::optional<std::int32_t> int32_value(std::uint64_t row, int column) {
    bool is_null;
    Datum d = value(row, column, &is_null);
    if (is_null) return std::nullopt;
    return DatumGetInt32(d);
}

std::optional<std::int64_t> int64_value(std::uint64_t row, int column) {
    bool is_null;
    Datum d = value(row, column, &is_null);
    if (is_null) return std::nullopt;
    return DatumGetInt64(d);
}

bool bool_value(std::uint64_t row, int column) {
    bool is_null;
    Datum d = value(row, column, &is_null);
    return !is_null && DatumGetBool(d);
}

}  // namespace gencontrol::spi

// Durable commits for transactions that changed gencontrol's state, and the standby refusal.
// The commit mode is raised in a pre-commit callback, not inside the SQL function: a
// function's SET clause reverts any GUC changed inside it when it returns.
#include "durability.hpp"

#include <string>

#include "guards.hpp"

namespace gencontrol {
namespace {

bool issued_in_transaction = false;

bool synchronous_standbys_defined() {
#ifdef SYNC_STANDBY_DEFINED  // PostgreSQL 15.14 and later keep a status bit field
    return (WalSndCtl->sync_standbys_status & SYNC_STANDBY_DEFINED) != 0;
#else
    return WalSndCtl->sync_standbys_defined;
#endif
}

// PostgreSQL ends a commit's wait for the synchronous standby early when the query is
// cancelled, and still reports success; a generation acknowledged that way could be lost in a
// failover and handed out again. So after such a commit, wait again until the standby has it.
// If the session is being terminated instead, send the client nothing more: an unanswered
// attach is an unknown outcome to the caller, never an acknowledged one.
void wait_for_synchronous_standby() {
    if (!SyncRepRequested()) return;
    int mode =
        synchronous_commit >= SYNCHRONOUS_COMMIT_REMOTE_APPLY ? SYNC_REP_WAIT_APPLY : SYNC_REP_WAIT_FLUSH;
    XLogRecPtr commit_end = XactLastCommitEnd;
    for (;;) {
        LWLockAcquire(SyncRepLock, LW_SHARED);
        bool defined = synchronous_standbys_defined();
        XLogRecPtr confirmed = WalSndCtl->lsn[mode];
        LWLockRelease(SyncRepLock);
        if (!defined || confirmed >= commit_end) return;
        if (ProcDiePending || whereToSendOutput == DestNone) {
            whereToSendOutput = DestNone;
            return;
        }
        SyncRepWaitForLSN(commit_end, true);
    }
}

void on_transaction_event(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            // 'local' and 'remote_write' are weaker than 'on'; 'remote_apply' is kept.
            if (issued_in_transaction && synchronous_commit < SYNCHRONOUS_COMMIT_REMOTE_FLUSH) {
                (void)set_config_option("synchronous_commit", "on", PGC_USERSET, PGC_S_SESSION,
                                        GUC_ACTION_LOCAL, true, 0, false);
            }
            break;
        case XACT_EVENT_PRE_PREPARE:
            if (issued_in_transaction) {
                issued_in_transaction = false;
                ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                                errmsg("gencontrol: cannot PREPARE a transaction that changed a generation"),
                                errdetail("A generation must be durable the moment it is visible; two-phase "
                                          "commit would make it visible only later, from another session.")));
            }
            break;
        case XACT_EVENT_COMMIT:
            if (issued_in_transaction) wait_for_synchronous_standby();
            issued_in_transaction = false;
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PREPARE:
        case XACT_EVENT_PARALLEL_COMMIT:
        case XACT_EVENT_PARALLEL_ABORT: issued_in_transaction = false; break;
        default: break;
    }
}

}  // namespace

void require_primary(const char* operation) {
    if (RecoveryInProgress()) {
        pg::raise(ERRCODE_READ_ONLY_SQL_TRANSACTION,
                  std::string("gencontrol: ") + operation + " refused: this server is a hot standby",
                  "A standby may lag behind the primary, so its answer could be stale.",
                  "Run it on the primary (libpq: target_session_attrs=read-write).");
    }
}

void issue_durably() {
    issued_in_transaction = true;
    pg::call([] { ForceSyncCommit(); });
}

void register_durability_callback() {
    RegisterXactCallback(on_transaction_event, nullptr);
}

}  // namespace gencontrol

GENCONTROL_FUNCTION(require_primary) {
    std::string name = gencontrol::pg::call([&] { return text_to_cstring(PG_GETARG_TEXT_PP(0)); });
    gencontrol::require_primary(name.c_str());
    return Datum(0);
}

// For the PL/pgSQL writers (node and tenant lifecycle, imports, split): their changes must
// survive a crash once acknowledged, like a generation (invariant 2).
GENCONTROL_FUNCTION(commit_durably) {
    gencontrol::issue_durably();
    return Datum(0);
}

// gen_validate's read barrier: a fresh WAL record, flushed and confirmed by a synchronous
// standby, before the read (etcd's ReadIndex, with the standby standing for the quorum).
// An acknowledgement of older WAL proves nothing: a standby promoted a moment ago had given it.
#include "read_barrier.hpp"

#include <string>

#include "guards.hpp"

namespace gencontrol {

bool validate_read_barrier = true;

namespace {

// The prefix of the barrier's logical message: pg_waldump shows it, and decoding plugins see a
// non-transactional message they can ignore.
constexpr char kMessagePrefix[] = "gencontrol.validate_read_barrier";

// Whether commits on this server wait for synchronous standbys now. Read without the lock, as
// SyncRepWaitForLSN's own fast path does: this only decides whether to write the barrier at all.
bool synchronous_standbys_configured() {
    if (max_wal_senders == 0) return false;
#ifdef SYNC_STANDBY_DEFINED  // PostgreSQL 15.14 and later keep a status bit field
    bits8 status = WalSndCtl->sync_standbys_status;
    // Until the checkpointer first processed synchronous_standby_names, the setting itself counts.
    if (!(status & SYNC_STANDBY_INIT))
        return SyncRepStandbyNames != nullptr && SyncRepStandbyNames[0] != '\0';
    return (status & SYNC_STANDBY_DEFINED) != 0;
#else
    return WalSndCtl->sync_standbys_defined;
#endif
}

// True once a synchronous standby confirmed flushing `lsn`, or when synchronous standbys were
// unconfigured meanwhile (the operator chose to run without them; commits stop waiting too).
bool confirmed_by_standby(XLogRecPtr lsn) {
    LWLockAcquire(SyncRepLock, LW_SHARED);
    bool configured = synchronous_standbys_configured();
    XLogRecPtr confirmed = WalSndCtl->lsn[SYNC_REP_WAIT_FLUSH];
    LWLockRelease(SyncRepLock);
    return !configured || confirmed >= lsn;
}

// SyncRepWaitForLSN waits only when the session asks for synchronous commits, and for the
// standby's write (not flush) under remote_write; the level it uses is derived by the setting's
// assign hook. The barrier must wait for a flush whatever the caller set, so the setting is raised
// to 'on' for the wait through the GUC machinery (as a function's SET clause is) and restored
// after it; an error in between is unwound by the transaction's abort.
//
// When a cancel ends the wait, SyncRepWaitForLSN warns that "the transaction has already committed
// locally": true for a commit, misleading for a validate, which commits nothing and then fails with
// its own error. client_min_messages is raised to error for the wait the same way, so that warning
// reaches the server log (as log_min_messages decides) and never the client, whatever the server's
// logging settings.
void wait_for_flush_by_standby(XLogRecPtr lsn) {
    pg::call([&] {
        int nest_level = NewGUCNestLevel();
        if (synchronous_commit < SYNCHRONOUS_COMMIT_REMOTE_FLUSH)
            (void)set_config_option("synchronous_commit", "on", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true,
                                    0, false);
        (void)set_config_option("client_min_messages", "error", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                                false);
        SyncRepWaitForLSN(lsn, false);
        AtEOXact_GUC(true, nest_level);
    });
}

}  // namespace

void read_barrier(const char* operation) {
    if (!validate_read_barrier || !synchronous_standbys_configured()) return;

    // A record of our own, written after this call began: no xid, nothing to commit. Walsenders
    // send only flushed WAL, so it is flushed before the wait.
    XLogRecPtr barrier = pg::call([] {
        XLogRecPtr end = LogLogicalMessage(kMessagePrefix, "", 0, false);
        XLogFlush(end);
        return end;
    });
    wait_for_flush_by_standby(barrier);
    // On a cancel, statement_timeout or termination SyncRepWaitForLSN only warns and returns:
    // the confirmation is checked here, and without it the call answers nothing.
    if (confirmed_by_standby(barrier)) return;
    pg::raise(ERRCODE_QUERY_CANCELED,
              std::string("gencontrol: ") + operation +
                  " cancelled: no synchronous standby confirmed its read barrier",
              "This server answers a validate only after a synchronous standby has flushed WAL written "
              "after the call began; a primary cut off while its standby is promoted must not answer "
              "from its old state.",
              "Check pg_stat_replication on this server. If a standby was promoted, this server is no "
              "longer the primary; otherwise retry once the synchronous standby is back.");
}

}  // namespace gencontrol

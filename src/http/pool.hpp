// The shim's database side: a fixed pool of libpq connections, each with gencontrol's calls
// prepared, that reconnects by itself and bounds every connect, wait and query in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "metrics.hpp"

struct pg_result;  // libpq's PGresult

namespace gencontrol::http {

// Each route calls one of these; they are prepared on every connection when it opens.
enum class Statement {
    attach,
    attach_many,  // gen_attach over arrays of shards and nodes, in one statement (AttachBatcher)
    detach,
    validate,
    re_attach,
    register_node,
    inspect,
    ready,
    import_status,
    import_set_status,
};

enum class DbErrorKind {
    unavailable,    // no connection could be made or it was lost: retry later
    not_primary,    // the server is a hot standby or read-only (SQLSTATE 25006)
    timeout,        // no answer within the request timeout
    not_installed,  // the gencontrol extension is missing from the database
    query,          // the database refused the call itself; sqlstate says why
};

class DbError : public std::runtime_error {
public:
    DbError(DbErrorKind kind, std::string sqlstate, const std::string& message)
        : std::runtime_error(message), kind_(kind), sqlstate_(std::move(sqlstate)) {}
    DbErrorKind kind() const { return kind_; }
    const std::string& sqlstate() const { return sqlstate_; }

private:
    DbErrorKind kind_;
    std::string sqlstate_;
};

const char* db_error_kind_name(DbErrorKind kind);

using DbValue = std::optional<std::string>;  // text format; empty for SQL NULL
using DbRow = std::vector<DbValue>;
using DbRows = std::vector<DbRow>;

// One row of an answer, readable only while a visitor runs: the large answers (validate) are read
// in place instead of being copied into DbRows first.
class DbRowView {
public:
    bool is_null(int column) const;
    // The column as the statement asks for it: text, or PostgreSQL's binary form for validate
    // (tenant_shard_id: its 18 bytes; boolean: one byte, 0 or 1). Empty for SQL NULL.
    std::string_view value(int column) const;
    int columns() const;

private:
    friend class Pool;
    DbRowView(const ::pg_result* result, int row) : result_(result), row_(row) {}
    const ::pg_result* result_;
    int row_;
};
using DbRowVisitor = std::function<void(const DbRowView&)>;

class Pool {
public:
    struct Options {
        std::string conninfo;  // libpq conninfo or URI, possibly multi-host; empty: libpq defaults
        int size = 8;
        std::chrono::milliseconds acquire_timeout{5000};
        std::chrono::milliseconds query_timeout{10000};
        int connect_timeout_seconds = 5;  // per host, unless the conninfo sets connect_timeout
    };

    // A connection lent to one request; returned to the pool when destroyed.
    class Lease {
    public:
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&&) = delete;
        ~Lease();
        // Runs a prepared statement, reconnecting first if needed. Throws DbError.
        DbRows run(Statement statement, const std::vector<DbValue>& params);
        // The same, handing each row of the answer to visit, in order, once the whole answer has
        // arrived (so a retry on a new connection never shows a row twice).
        void run(Statement statement, const std::vector<DbValue>& params, const DbRowVisitor& visit);

        // The steps of run() for a caller that waits on the socket itself (the event loop,
        // AsyncCalls): none of them waits, connects or retries.
        enum class Step {
            unready,  // begin(): closed, or closed by the server while idle; nothing was sent
            read,     // wait until socket() is readable, then advance()
            write,    // wait until socket() is writable, then advance()
            done,     // the whole answer is in and was visited
            lost,     // the connection broke and was dropped; run() would retry on a new one
        };
        // Sends the statement on the open connection.
        Step begin(Statement statement, const std::vector<DbValue>& params);
        // Sends what is still queued and reads what arrived. Throws DbError as run() does (counted,
        // the connection dropped unless the database refused the call itself).
        Step advance(const DbRowVisitor& visit);
        // No answer within the query timeout: drops the connection; the error run() would throw.
        DbError time_out();
        int socket() const;                // the connection's descriptor, -1 when closed
        std::uint64_t connection() const;  // changes whenever the slot opens a new connection
        std::size_t slot() const { return slot_; }

    private:
        friend class Pool;
        Lease(Pool* pool, std::size_t slot) : pool_(pool), slot_(slot) {}
        Pool* pool_;
        std::size_t slot_;
    };

    Pool(Options options, Metrics& metrics);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Waits up to acquire_timeout for a free connection; throws DbError(unavailable) after that.
    Lease acquire();
    // A free connection now, or nullopt (also while threads wait in acquire()); never waits.
    std::optional<Lease> try_acquire();
    PoolStats stats() const;
    const Options& options() const { return options_; }

    // A sentence when libpq cannot parse the conninfo, checked once at start.
    static std::optional<std::string> conninfo_error(const std::string& conninfo);

private:
    struct Slot;
    // Returns true when it had to open a new connection.
    bool ensure_connected(Slot& slot);
    void drop(Slot& slot);
    void send(Slot& slot, Statement statement, const std::vector<DbValue>& params);
    void execute(Slot& slot, Statement statement, const std::vector<DbValue>& params,
                 const DbRowVisitor& visit);
    void release(std::size_t slot);

    Options options_;
    Metrics& metrics_;
    std::vector<std::unique_ptr<Slot>> slots_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<std::size_t> free_;
    int connected_ = 0;  // guarded by mutex_
    int waiting_ = 0;    // threads in acquire(), guarded by mutex_
};

}  // namespace gencontrol::http

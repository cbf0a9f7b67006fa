// The libpq connection pool: lends connections, (re)connects them lazily, prepares gencontrol's
// calls, and turns every failure into a DbError whose kind tells the route how to answer.
#include "pool.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "binary_array.hpp"
#include "serving/log.hpp"

namespace gencontrol::http {
namespace log = serving::log;
namespace {

using Clock = std::chrono::steady_clock;

struct PreparedStatement {
    Statement statement;
    const char* name;
    int param_count;
    const char* sql;
    int result_format = 0;  // 0 text, 1 binary
    int param_format = 0;   // 0 text, 1 binary (every parameter)
};

// Column lists are given positionally, so the shim depends on the functions' shapes, not on the
// names of their output columns. gen_validate answers in input order and its rows come back in
// the order it wrote them (no sort: the route checks the order and refuses any other).
constexpr PreparedStatement kStatements[] = {
    {Statement::attach, "gencontrol_attach", 3,
     "SELECT gencontrol.gen_attach($1::gencontrol.tenant_shard_id, $2::bigint, $3::integer)"},
    // One transaction for many attaches: gen_attach runs once per element, in array order (the
    // caller's key order), and each row names its element's position.
    {Statement::attach_many, "gencontrol_attach_many", 2,
     "SELECT u.position, gencontrol.gen_attach(u.tenant, u.node) "
     "FROM unnest($1::gencontrol.tenant_shard_id[], $2::bigint[]) WITH ORDINALITY AS u(tenant, node, position)",
     0, 1},
    {Statement::detach, "gencontrol_detach", 1,
     "SELECT gencontrol.gen_detach($1::gencontrol.tenant_shard_id)"},
    {Statement::validate, "gencontrol_validate", 2,
     "SELECT v.tenant, v.valid FROM gencontrol.gen_validate($1::gencontrol.tenant_shard_id[], "
     "$2::integer[]) AS v(tenant, valid)",
     // Binary both ways: neither side formats or parses ids as hex (array_in alone was about a
     // sixth of the server's cost of a 128-entry validate).
     1, 1},
    {Statement::re_attach, "gencontrol_re_attach", 1,
     "SELECT r.tenant, r.generation, r.mode, r.stripe_size "
     "FROM gencontrol.gen_re_attach($1::bigint) AS r(tenant, generation, mode, stripe_size)"},
    {Statement::register_node, "gencontrol_node_register", 10,
     "SELECT gencontrol.node_register($1::bigint, $2::text, $3::integer, $4::text, $5::integer, "
     "$6::text, $7::integer, $8::text, $9::integer, $10::inet)"},
    {Statement::inspect, "gencontrol_inspect", 1,
     "SELECT i.generation, i.node FROM gencontrol.gen_inspect($1::gencontrol.tenant_shard_id) AS "
     "i(generation, node)"},
    {Statement::import_status, "gencontrol_import_status", 3,
     "SELECT gencontrol.timeline_import_status($1::gencontrol.tenant_shard_id, $2::text, $3::integer)"},
    {Statement::import_set_status, "gencontrol_import_set_status", 4,
     "SELECT gencontrol.timeline_import_set_status($1::gencontrol.tenant_shard_id, $2::text, $3::integer, "
     "$4::jsonb)"},
    // True when this server cannot take writes: a hot standby, or a primary set read-only.
    {Statement::ready, "gencontrol_ready", 0,
     "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean"},
};

const PreparedStatement& prepared(Statement statement) {
    for (const auto& s : kStatements)
        if (s.statement == statement) return s;
    throw std::logic_error("unknown statement");
}

// The connection is gone (or going): a retry on a new connection may succeed.
struct ConnectionLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string first_line(const char* text) {
    std::string s = text ? text : "";
    if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
    return s;
}

bool connection_level_sqlstate(const std::string& sqlstate) {
    // 08: connection exceptions; 57P01-57P03: the server is shutting down or starting up.
    return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

bool missing_extension_sqlstate(const std::string& sqlstate) {
    // Schema, function, type or table missing: the extension is not (yet) installed here.
    return sqlstate == "3F000" || sqlstate == "42883" || sqlstate == "42704" || sqlstate == "42P01";
}

// Waits until the connection's socket is ready or the deadline passes; false on timeout.
bool wait_socket(PGconn* conn, bool for_write, Clock::time_point deadline) {
    int fd = PQsocket(conn);
    if (fd < 0) throw ConnectionLost("the database connection has no socket");
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, static_cast<short>(POLLIN | (for_write ? POLLOUT : 0)), 0};
        int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR)
            throw ConnectionLost(std::string("poll failed: ") + std::strerror(errno));
    }
}

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The results of the one command in flight, as libpq completes them: those with rows, and the
// first error.
struct Collected {
    std::vector<Result> results;
    std::optional<DbError> failure;
};

// Takes every result libpq has complete, without reading from the socket; true once the
// command's last result was taken. Shared by the blocking and the event-loop paths, so both map
// the database's answers to the same errors.
bool take_results(PGconn* conn, Collected& into) {
    while (!PQisBusy(conn)) {
        Result result(PQgetResult(conn), &PQclear);
        if (!result) return true;
        auto status = PQresultStatus(result.get());
        if (status == PGRES_TUPLES_OK) {
            into.results.push_back(std::move(result));
        } else if (status != PGRES_COMMAND_OK && !into.failure) {
            const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
            const char* primary = PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY);
            std::string sqlstate = state ? state : "";
            std::string message = primary ? primary : first_line(PQresultErrorMessage(result.get()));
            if (PQstatus(conn) == CONNECTION_BAD || connection_level_sqlstate(sqlstate) || sqlstate.empty())
                throw ConnectionLost(message.empty() ? first_line(PQerrorMessage(conn)) : message);
            DbErrorKind kind = DbErrorKind::query;
            if (sqlstate == "25006")
                kind = DbErrorKind::not_primary;
            else if (sqlstate == "57014")
                kind = DbErrorKind::timeout;  // statement_timeout fired
            else if (missing_extension_sqlstate(sqlstate))
                kind = DbErrorKind::not_installed;
            into.failure.emplace(kind, sqlstate, message);
        }
    }
    return false;
}

// After the last result: the results with rows, or the command's error.
std::vector<Result> finish(PGconn* conn, Collected& collected) {
    if (PQstatus(conn) == CONNECTION_BAD) throw ConnectionLost(first_line(PQerrorMessage(conn)));
    if (collected.failure) throw *collected.failure;
    return std::move(collected.results);
}

// Sends what libpq has queued and collects every result of the one command in flight; returns
// those with rows.
std::vector<Result> collect(PGconn* conn, Clock::time_point deadline, std::chrono::milliseconds timeout) {
    int flushed;
    while ((flushed = PQflush(conn)) == 1) {
        if (!wait_socket(conn, true, deadline))
            throw DbError(DbErrorKind::timeout, "", fmt::format("no answer within {} ms", timeout.count()));
        if (!PQconsumeInput(conn)) throw ConnectionLost(first_line(PQerrorMessage(conn)));
    }
    if (flushed < 0) throw ConnectionLost(first_line(PQerrorMessage(conn)));

    Collected collected;
    while (!take_results(conn, collected)) {
        if (!wait_socket(conn, false, deadline))
            throw DbError(DbErrorKind::timeout, "", fmt::format("no answer within {} ms", timeout.count()));
        if (!PQconsumeInput(conn)) throw ConnectionLost(first_line(PQerrorMessage(conn)));
    }
    return finish(conn, collected);
}

// A connection that sat idle may have been closed by the server (restart, failover,
// pg_terminate_backend); anything readable on an idle connection is that news.
bool went_away_while_idle(PGconn* conn) {
    if (PQstatus(conn) != CONNECTION_OK) return true;
    pollfd p{PQsocket(conn), POLLIN, 0};
    if (p.fd < 0) return true;
    if (::poll(&p, 1, 0) <= 0) return false;
    if (!PQconsumeInput(conn)) return true;
    return PQstatus(conn) != CONNECTION_OK;
}

// The event loop's check before it sends: an idle connection that is not open, or on which the
// server sent anything at all (its goodbye, or the end of the stream), is reopened first.
bool idle_connection_has_news(PGconn* conn) {
    if (PQstatus(conn) != CONNECTION_OK) return true;
    pollfd p{PQsocket(conn), POLLIN, 0};
    return p.fd < 0 || ::poll(&p, 1, 0) != 0;
}

bool conninfo_sets(const std::string& conninfo, const char* keyword) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (error) PQfreemem(error);
    if (!options) return false;
    bool found = false;
    for (auto* o = options; o->keyword; ++o)
        if (std::strcmp(o->keyword, keyword) == 0 && o->val && *o->val) found = true;
    PQconninfoFree(options);
    return found;
}

}  // namespace

bool DbRowView::is_null(int column) const {
    return PQgetisnull(result_, row_, column) != 0;
}

std::string_view DbRowView::value(int column) const {
    return {PQgetvalue(result_, row_, column), static_cast<std::size_t>(PQgetlength(result_, row_, column))};
}

int DbRowView::columns() const {
    return PQnfields(result_);
}

const char* db_error_kind_name(DbErrorKind kind) {
    switch (kind) {
        case DbErrorKind::unavailable: return "unavailable";
        case DbErrorKind::not_primary: return "not_primary";
        case DbErrorKind::timeout: return "timeout";
        case DbErrorKind::not_installed: return "not_installed";
        case DbErrorKind::query: return "query";
    }
    return "query";
}

struct Pool::Slot {
    PGconn* conn = nullptr;
    bool ever_connected = false;
    // gencontrol.tenant_shard_id's OID in this connection's database, in network byte order, as a
    // binary array names its element type.
    std::uint32_t tenant_shard_id_oid = 0;
    std::uint64_t connection = 0;  // counts the connections opened, so a watcher sees a new one
    Collected collected;           // the event-loop path's answer so far (Lease::advance)
};

Pool::Pool(Options options, Metrics& metrics) : options_(std::move(options)), metrics_(metrics) {
    for (int i = 0; i < options_.size; ++i) {
        slots_.push_back(std::make_unique<Slot>());
        free_.push_back(static_cast<std::size_t>(options_.size - 1 - i));
    }
}

Pool::~Pool() {
    for (auto& slot : slots_)
        if (slot->conn) PQfinish(slot->conn);
}

std::optional<std::string> Pool::conninfo_error(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (options) PQconninfoFree(options);
    if (!error) return std::nullopt;
    std::string why = first_line(error);
    PQfreemem(error);
    return why;
}

std::optional<Pool::Lease> Pool::try_acquire() {
    std::lock_guard lock(mutex_);
    // Threads already waiting go first: the event loop must not starve them of freed connections.
    if (free_.empty() || waiting_ > 0) return std::nullopt;
    std::size_t slot = free_.back();
    free_.pop_back();
    return Lease(this, slot);
}

Pool::Lease Pool::acquire() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    bool got = freed_.wait_for(lock, options_.acquire_timeout, [&] { return !free_.empty(); });
    --waiting_;
    if (!got)
        throw DbError(DbErrorKind::unavailable, "",
                      fmt::format("all {} database connections stayed busy for {} ms", options_.size,
                                  options_.acquire_timeout.count()));
    std::size_t slot = free_.back();
    free_.pop_back();
    return Lease(this, slot);
}

void Pool::release(std::size_t slot) {
    {
        std::lock_guard lock(mutex_);
        free_.push_back(slot);
    }
    freed_.notify_one();
}

PoolStats Pool::stats() const {
    std::lock_guard lock(mutex_);
    return {options_.size, options_.size - static_cast<int>(free_.size()), connected_};
}

void Pool::drop(Slot& slot) {
    if (!slot.conn) return;
    PQfinish(slot.conn);
    slot.conn = nullptr;
    std::lock_guard lock(mutex_);
    --connected_;
}

bool Pool::ensure_connected(Slot& slot) {
    if (slot.conn && went_away_while_idle(slot.conn)) {
        log::info("database connection was closed while idle; reconnecting");
        drop(slot);
    }
    if (slot.conn) return false;

    // libpq bounds connect_timeout per host, so a multi-host conninfo can move past a dead primary.
    std::string timeout = std::to_string(options_.connect_timeout_seconds);
    bool user_timeout =
        conninfo_sets(options_.conninfo, "connect_timeout") || std::getenv("PGCONNECT_TIMEOUT");
    const char* keywords[] = {"dbname", "fallback_application_name",
                              user_timeout ? nullptr : "connect_timeout", nullptr};
    const char* values[] = {options_.conninfo.c_str(), "gencontrol-http",
                            user_timeout ? nullptr : timeout.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        std::string why = conn ? first_line(PQerrorMessage(conn)) : "out of memory";
        if (conn) PQfinish(conn);
        metrics_.count_connect_failure();
        throw DbError(DbErrorKind::unavailable, "", "cannot connect to the database: " + why);
    }
    {
        std::lock_guard lock(mutex_);
        ++connected_;
    }
    slot.conn = conn;
    ++slot.connection;
    try {
        if (PQsetnonblocking(conn, 1) != 0) throw ConnectionLost(first_line(PQerrorMessage(conn)));
        auto deadline = Clock::now() + options_.query_timeout;
        // The server gives up on its own too, so a query abandoned by a timeout here does not run
        // on.
        std::string setup = fmt::format("SET statement_timeout = {}", options_.query_timeout.count());
        if (!PQsendQuery(conn, setup.c_str())) throw ConnectionLost(first_line(PQerrorMessage(conn)));
        collect(conn, deadline, options_.query_timeout);
        // A missing extension fails here as the prepares below would: not_installed.
        if (!PQsendQueryParams(conn, "SELECT 'gencontrol.tenant_shard_id'::regtype::oid", 0, nullptr, nullptr,
                               nullptr, nullptr, 1))
            throw ConnectionLost(first_line(PQerrorMessage(conn)));
        auto oid = collect(conn, deadline, options_.query_timeout);
        if (oid.size() != 1 || PQntuples(oid[0].get()) != 1 || PQgetlength(oid[0].get(), 0, 0) != 4)
            throw DbError(DbErrorKind::query, "", "could not look up gencontrol.tenant_shard_id");
        std::memcpy(&slot.tenant_shard_id_oid, PQgetvalue(oid[0].get(), 0, 0), 4);
        for (const auto& s : kStatements) {
            if (!PQsendPrepare(conn, s.name, s.sql, s.param_count, nullptr))
                throw ConnectionLost(first_line(PQerrorMessage(conn)));
            collect(conn, deadline, options_.query_timeout);
        }
    } catch (const ConnectionLost& e) {
        drop(slot);
        metrics_.count_connect_failure();
        throw DbError(DbErrorKind::unavailable, "",
                      std::string("lost the database connection while setting it up: ") + e.what());
    } catch (const DbError&) {
        drop(slot);
        metrics_.count_connect_failure();
        throw;
    }
    metrics_.count_connect(slot.ever_connected);
    if (slot.ever_connected)
        log::info("reconnected to the database", {{"server", std::string(PQhost(conn) ? PQhost(conn) : "")}});
    slot.ever_connected = true;
    return true;
}

void Pool::send(Slot& slot, Statement statement, const std::vector<DbValue>& params) {
    const auto& s = prepared(statement);
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    std::vector<std::string> patched;  // binary arrays that name the connection's tenant_shard_id
    values.reserve(params.size());
    patched.reserve(params.size());
    for (const auto& p : params) {
        if (s.param_format == 1 && p && is_tenant_shard_id_array(*p)) {
            patched.push_back(*p);
            std::memcpy(patched.back().data() + kArrayElementTypeOffset, &slot.tenant_shard_id_oid, 4);
            values.push_back(patched.back().data());
        } else {
            values.push_back(p ? p->data() : nullptr);
        }
        lengths.push_back(p ? static_cast<int>(p->size()) : 0);
        formats.push_back(s.param_format);
    }
    if (!PQsendQueryPrepared(slot.conn, s.name, static_cast<int>(values.size()), values.data(), lengths.data(),
                             formats.data(), s.result_format))
        throw ConnectionLost(first_line(PQerrorMessage(slot.conn)));
}

void Pool::execute(Slot& slot, Statement statement, const std::vector<DbValue>& params,
                   const DbRowVisitor& visit) {
    send(slot, statement, params);
    auto results = collect(slot.conn, Clock::now() + options_.query_timeout, options_.query_timeout);
    for (const auto& result : results) {
        int n_rows = PQntuples(result.get());
        for (int r = 0; r < n_rows; ++r) visit(DbRowView(result.get(), r));
    }
}

Pool::Lease::Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_) {
    other.pool_ = nullptr;
}

Pool::Lease::~Lease() {
    if (pool_) pool_->release(slot_);
}

DbRows Pool::Lease::run(Statement statement, const std::vector<DbValue>& params) {
    DbRows rows;
    run(statement, params, [&rows](const DbRowView& view) {
        DbRow row;
        row.reserve(static_cast<std::size_t>(view.columns()));
        for (int c = 0; c < view.columns(); ++c) {
            if (view.is_null(c))
                row.emplace_back(std::nullopt);
            else
                row.emplace_back(std::string(view.value(c)));
        }
        rows.push_back(std::move(row));
    });
    return rows;
}

void Pool::Lease::run(Statement statement, const std::vector<DbValue>& params, const DbRowVisitor& visit) {
    Slot& slot = *pool_->slots_[slot_];
    for (int attempt = 0;; ++attempt) {
        bool fresh = false;
        try {
            fresh = pool_->ensure_connected(slot);
        } catch (const DbError& e) {
            pool_->metrics_.count_db_error(db_error_kind_name(e.kind()));
            throw;
        }
        try {
            return pool_->execute(slot, statement, params, visit);
        } catch (const ConnectionLost& e) {
            pool_->drop(slot);
            // A connection that was fine when last used may have died since without us noticing
            // (the server restarted between two requests): one retry on a new connection. Running
            // an attach twice only skips a generation, which the protocol allows; nothing is
            // reused.
            if (!fresh && attempt == 0) continue;
            pool_->metrics_.count_db_error("unavailable");
            throw DbError(DbErrorKind::unavailable, "",
                          std::string("lost the database connection: ") + e.what());
        } catch (const DbError& e) {
            // A timed-out connection may still be busy; a standby's stays a standby. Both are
            // replaced, so the next request reconnects (and with multi-host, finds the primary).
            if (e.kind() != DbErrorKind::query) pool_->drop(slot);
            pool_->metrics_.count_db_error(db_error_kind_name(e.kind()));
            throw;
        }
    }
}

Pool::Lease::Step Pool::Lease::begin(Statement statement, const std::vector<DbValue>& params) {
    Slot& slot = *pool_->slots_[slot_];
    // Stricter than run(): anything readable on an idle connection (the server's goodbye, which
    // run() would meet as a lost call and retry) means a reconnect first. The event loop's reactor
    // is edge-triggered, so bytes that came while nobody waited must be noticed here.
    if (slot.conn && idle_connection_has_news(slot.conn)) {
        log::info("database connection was closed while idle; reconnecting");
        pool_->drop(slot);
    }
    if (!slot.conn) return Step::unready;
    slot.collected = {};
    try {
        pool_->send(slot, statement, params);
        int flushed = PQflush(slot.conn);
        if (flushed < 0) throw ConnectionLost(first_line(PQerrorMessage(slot.conn)));
        return flushed == 1 ? Step::write : Step::read;
    } catch (const ConnectionLost&) {
        pool_->drop(slot);
        return Step::lost;
    }
}

Pool::Lease::Step Pool::Lease::advance(const DbRowVisitor& visit) {
    Slot& slot = *pool_->slots_[slot_];
    try {
        std::vector<Result> results;
        try {
            int flushed = PQflush(slot.conn);
            if (flushed < 0 || !PQconsumeInput(slot.conn)) throw ConnectionLost(first_line(PQerrorMessage(slot.conn)));
            if (flushed == 1) return Step::write;
            if (!take_results(slot.conn, slot.collected)) return Step::read;
            results = finish(slot.conn, slot.collected);
        } catch (const ConnectionLost&) {
            pool_->drop(slot);
            return Step::lost;
        }
        for (const auto& result : results) {
            int n_rows = PQntuples(result.get());
            for (int r = 0; r < n_rows; ++r) visit(DbRowView(result.get(), r));
        }
        return Step::done;
    } catch (const DbError& e) {
        // As run(): a standby's connection stays a standby's, so it is replaced.
        if (e.kind() != DbErrorKind::query) pool_->drop(slot);
        pool_->metrics_.count_db_error(db_error_kind_name(e.kind()));
        throw;
    }
}

DbError Pool::Lease::time_out() {
    // The connection may still be busy with the call: replaced, as run() does after its timeout.
    pool_->drop(*pool_->slots_[slot_]);
    pool_->metrics_.count_db_error(db_error_kind_name(DbErrorKind::timeout));
    return DbError(DbErrorKind::timeout, "",
                   fmt::format("no answer within {} ms", pool_->options_.query_timeout.count()));
}

int Pool::Lease::socket() const {
    const Slot& slot = *pool_->slots_[slot_];
    return slot.conn ? PQsocket(slot.conn) : -1;
}

std::uint64_t Pool::Lease::connection() const {
    return pool_->slots_[slot_]->connection;
}

}  // namespace gencontrol::http

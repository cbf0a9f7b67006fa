// AsyncCalls against a real PostgreSQL started for the test (scripts/pgcluster.py): the event-loop
// path answers, refuses, times out, declines and retries exactly as Pool::Lease::run does.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "async_calls.hpp"
#include "metrics.hpp"
#include "pool.hpp"

namespace gencontrol::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr const char* kCluster = "unit-async-calls";
constexpr int kPort = 15490;  // in the shim tests' range (harness.py); the server listens on a socket only
constexpr const char* kTenant = "0000000000000000000000000000a5c1";

std::string command_output(const std::string& command) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return out;
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
    if (::pclose(pipe) != 0) return {};
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string conninfo;  // of the test's database, set once the cluster runs

// A plain libpq session of the test's own: locks rows, watches and ends the pool's backends.
class Session {
public:
    Session() : conn_(PQconnectdb(conninfo.c_str())) {}
    ~Session() { PQfinish(conn_); }
    bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
    // The first value of the last statement's answer; empty on error or no rows.
    std::string value(const std::string& sql) {
        PGresult* result = PQexec(conn_, sql.c_str());
        std::string out;
        if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) out = PQgetvalue(result, 0, 0);
        PQclear(result);
        return out;
    }
    bool exec(const std::string& sql) {
        PGresult* result = PQexec(conn_, sql.c_str());
        bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
        PQclear(result);
        return ok;
    }
    // Waits (bounded) until `sql` answers `expected`.
    bool eventually(const std::string& sql, const std::string& expected) {
        for (int i = 0; i < 200; ++i) {
            if (value(sql) == expected) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

private:
    PGconn* conn_;
};

struct Outcome {
    bool taken = false;  // call() returned true
    DbRows rows;
    std::exception_ptr error;
    std::thread::id answered_on;
};

class AsyncCallsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        conninfo = command_output(std::string("python3 ") + GENCONTROL_SOURCE_DIR + "/scripts/pgcluster.py start " +
                                  kCluster + " " + std::to_string(kPort) +
                                  " --db gencontrol_async --extension gencontrol");
        Session setup;
        ASSERT_TRUE(setup.ok()) << "no test database (is the extension installed? make install): " << conninfo;
        ASSERT_TRUE(setup.exec("SELECT gencontrol.node_register(1, 'ps1', 9898, 'ps1', 6400)"));
    }
    static void TearDownTestSuite() {
        command_output(std::string("python3 ") + GENCONTROL_SOURCE_DIR + "/scripts/pgcluster.py stop " + kCluster);
    }

    void make_pool(int size, std::chrono::milliseconds query_timeout = 10s) {
        calls_.reset();
        pool_.reset();
        pool_ = std::make_unique<Pool>(Pool::Options{conninfo, size, 2s, query_timeout}, metrics_);
        calls_ = std::make_unique<AsyncCalls>(loop_, *pool_);
    }

    // Runs one call from the loop, as the router does, and waits for its answer.
    Outcome call(Statement statement, std::vector<DbValue> params) {
        auto answered = std::make_shared<std::promise<Outcome>>();
        Outcome result;
        asio::post(loop_, [&] {
            result.taken = calls_->call(statement, params, [answered](DbRows rows, std::exception_ptr error) {
                answered->set_value({true, std::move(rows), error, std::this_thread::get_id()});
            });
        });
        loop_.restart();
        loop_.run();
        if (!result.taken) return result;
        auto future = answered->get_future();
        if (future.wait_for(30s) != std::future_status::ready) {
            ADD_FAILURE() << "the call was never answered";
            return result;
        }
        return future.get();
    }

    Outcome attach(int node = 1) { return call(Statement::attach, {kTenant, std::to_string(node), std::nullopt}); }

    // The same statement the blocking way, as a worker runs it.
    DbRows run(Statement statement, const std::vector<DbValue>& params) {
        return pool_->acquire().run(statement, params);
    }

    static int generation(const Outcome& outcome) {
        if (outcome.error) std::rethrow_exception(outcome.error);
        return std::stoi(outcome.rows.at(0).at(0).value());
    }

    static DbError error_of(const Outcome& outcome) {
        try {
            if (outcome.error) std::rethrow_exception(outcome.error);
        } catch (const DbError& e) {
            return e;
        }
        ADD_FAILURE() << "expected a DbError";
        return DbError(DbErrorKind::query, "", "none");
    }

    std::string backend_of_pool = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gencontrol-http'";

    asio::io_context loop_{1};
    Metrics metrics_;
    std::unique_ptr<Pool> pool_;
    std::unique_ptr<AsyncCalls> calls_;
};

TEST_F(AsyncCallsTest, AttachIsAnsweredOnTheLoopThreadWithTheNextGeneration) {
    make_pool(1);
    run(Statement::ready, {});  // opens the connection: a fresh pool has none and would decline
    Outcome first = attach();
    ASSERT_TRUE(first.taken);
    EXPECT_EQ(first.answered_on, std::this_thread::get_id());
    int g = generation(first);
    EXPECT_EQ(generation(attach()), g + 1);
    // The blocking path sees the same sequence: nothing was skipped or run twice.
    EXPECT_EQ(std::stoi(run(Statement::attach, {kTenant, "1", std::nullopt}).at(0).at(0).value()), g + 2);
    EXPECT_EQ(calls_->in_flight(), 0u);
    EXPECT_EQ(pool_->stats().in_use, 0);
}

TEST_F(AsyncCallsTest, ARefusalIsTheSameErrorAsTheBlockingPath) {
    make_pool(1);
    run(Statement::ready, {});
    Outcome refused = attach(999);  // no such node
    ASSERT_TRUE(refused.taken);
    DbError async_error = error_of(refused);
    try {
        run(Statement::attach, {kTenant, "999", std::nullopt});
        FAIL() << "the blocking path accepted an unknown node";
    } catch (const DbError& e) {
        EXPECT_EQ(async_error.kind(), e.kind());
        EXPECT_EQ(async_error.sqlstate(), e.sqlstate());
        EXPECT_STREQ(async_error.what(), e.what());
    }
    EXPECT_EQ(async_error.kind(), DbErrorKind::query);
    // The connection stays: the database refused the call, not the session.
    EXPECT_TRUE(attach().taken);
}

TEST_F(AsyncCallsTest, DeclinesWithoutAFreeOpenConnectionAndSendsNothing) {
    make_pool(1);
    EXPECT_FALSE(attach().taken) << "a pool that never connected must connect on a worker";
    run(Statement::ready, {});
    auto held = pool_->acquire();
    EXPECT_FALSE(attach().taken) << "the only connection is lent";
}

TEST_F(AsyncCallsTest, AConnectionClosedWhileIdleIsDeclinedThenWatchedAnewAfterTheReconnect) {
    make_pool(1);
    run(Statement::ready, {});
    ASSERT_TRUE(attach().taken);
    Session admin;
    ASSERT_TRUE(admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE application_name = 'gencontrol-http'"));
    ASSERT_TRUE(admin.eventually(backend_of_pool, "0"));
    EXPECT_FALSE(attach().taken) << "a dead connection must be reopened on a worker";
    run(Statement::ready, {});  // the worker's reconnect
    Outcome after = attach();
    ASSERT_TRUE(after.taken);
    EXPECT_GT(generation(after), 0) << "the new connection's socket must be the one watched";
}

TEST_F(AsyncCallsTest, NoAnswerInTimeIsATimeoutAndTheConnectionIsReplaced) {
    make_pool(1, 300ms);
    run(Statement::ready, {});
    int before = generation(attach());
    Session blocker;
    ASSERT_TRUE(blocker.exec("BEGIN"));
    ASSERT_TRUE(blocker.exec(std::string("SELECT 1 FROM gencontrol.tenant_shards WHERE id OPERATOR(gencontrol.=) '") +
                             kTenant + "'::gencontrol.tenant_shard_id FOR UPDATE"));
    Outcome waited = attach();
    ASSERT_TRUE(waited.taken);
    DbError e = error_of(waited);
    // Ours ("no answer within 300 ms") or the server's statement_timeout, set to the same 300 ms:
    // either way a timeout, as on the blocking path.
    EXPECT_EQ(e.kind(), DbErrorKind::timeout) << e.what();
    // The abandoned attach ends by the server's statement_timeout (the pool sets the same 300 ms),
    // not by the row being let go: its backend is gone while the row is still held.
    Session admin;
    ASSERT_TRUE(admin.eventually(backend_of_pool, "0"));
    ASSERT_TRUE(blocker.exec("ROLLBACK"));
    EXPECT_FALSE(attach().taken) << "the timed-out connection may still be busy: it must be replaced";
    // Nothing of the abandoned attach committed: the next one gets the next generation.
    EXPECT_EQ(std::stoi(run(Statement::attach, {kTenant, "1", std::nullopt}).at(0).at(0).value()), before + 1);
}

TEST_F(AsyncCallsTest, AConnectionLostMidCallIsRetriedOnceOnANewConnection) {
    make_pool(1);
    run(Statement::ready, {});
    int before = generation(attach());
    Session blocker, admin;
    ASSERT_TRUE(blocker.exec("BEGIN"));
    ASSERT_TRUE(blocker.exec(std::string("SELECT 1 FROM gencontrol.tenant_shards WHERE id OPERATOR(gencontrol.=) '") +
                             kTenant + "'::gencontrol.tenant_shard_id FOR UPDATE"));
    std::string waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gencontrol-http' "
                          "AND wait_event_type = 'Lock'";
    // While the attach waits for the row, its backend is ended; then the row is let go.
    std::thread killer([&] {
        if (!admin.eventually(waiting, "1")) return;
        admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gencontrol-http'");
        admin.eventually(waiting, "1");  // the retry, on a new connection, waits for the row too
        blocker.exec("ROLLBACK");
    });
    Outcome retried = attach();
    killer.join();
    ASSERT_TRUE(retried.taken);
    EXPECT_NE(retried.answered_on, std::this_thread::get_id()) << "the retry connects, so it runs off the loop";
    // The ended attach never committed: the retry's generation is the next one.
    EXPECT_EQ(generation(retried), before + 1);
    EXPECT_EQ(calls_->in_flight(), 0u);
}

}  // namespace
}  // namespace gencontrol::http

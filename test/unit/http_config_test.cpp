// Unit tests for the shim's configuration (flags, environment, defaults), its metrics text, its
// log lines, and the router's answers that need no database (404, 405, 401/403, 400, 503).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "config.hpp"
#include "serving/log.hpp"
#include "metrics.hpp"
#include "server.hpp"

using namespace gencontrol::http;

namespace {

ConfigOutcome parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return parse_config(args, [env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

}  // namespace

TEST(Config, DefaultsAreDesignMd) {
    auto outcome = parse({});
    ASSERT_TRUE(outcome.config) << outcome.error;
    const Config& c = *outcome.config;
    EXPECT_EQ(c.listen_host, "127.0.0.1");
    EXPECT_EQ(c.listen_port, 1234);
    EXPECT_EQ(c.database_url, "");
    EXPECT_EQ(c.pool_size, 8);
    EXPECT_TRUE(c.jwt_public_keys.empty());
    EXPECT_EQ(c.max_body_bytes, 16u * 1024 * 1024);
    EXPECT_EQ(c.log_format, LogFormat::plain);
}

TEST(Config, ReadsEveryFlagInBothSpellings) {
    auto outcome = parse({"--listen", "0.0.0.0:8080",
                          "--database-url=postgresql://a,b/db?target_session_attrs=read-write", "--pool-size",
                          "3", "--jwt-public-key", "/k1.pem", "--jwt-public-key=/k2.pem", "--max-body-bytes",
                          "1000", "--log-format", "json", "--log-level=debug", "--http-threads", "16",
                          "--request-timeout", "7"});
    ASSERT_TRUE(outcome.config) << outcome.error;
    const Config& c = *outcome.config;
    EXPECT_EQ(c.listen_host, "0.0.0.0");
    EXPECT_EQ(c.listen_port, 8080);
    EXPECT_EQ(c.database_url, "postgresql://a,b/db?target_session_attrs=read-write");
    EXPECT_EQ(c.pool_size, 3);
    EXPECT_EQ(c.jwt_public_keys, (std::vector<std::string>{"/k1.pem", "/k2.pem"}));
    EXPECT_EQ(c.max_body_bytes, 1000u);
    EXPECT_EQ(c.log_format, LogFormat::json);
    EXPECT_EQ(c.log_level, LogLevel::debug);
    EXPECT_EQ(c.http_threads, 16);
    EXPECT_EQ(c.request_timeout_seconds, 7);
}

TEST(Config, ReadsTheEnvironmentAndFlagsWin) {
    std::map<std::string, std::string> env = {{"GENCONTROL_LISTEN", "127.0.0.1:9000"},
                                              {"GENCONTROL_DATABASE_URL", "host=/tmp dbname=x"},
                                              {"GENCONTROL_JWT_PUBLIC_KEY", "/a.pem,/b.pem"},
                                              {"GENCONTROL_POOL_SIZE", "4"}};
    auto outcome = parse({}, env);
    ASSERT_TRUE(outcome.config) << outcome.error;
    EXPECT_EQ(outcome.config->listen_port, 9000);
    EXPECT_EQ(outcome.config->database_url, "host=/tmp dbname=x");
    EXPECT_EQ(outcome.config->jwt_public_keys, (std::vector<std::string>{"/a.pem", "/b.pem"}));
    EXPECT_EQ(outcome.config->pool_size, 4);

    outcome = parse({"--listen", "127.0.0.1:9001", "--jwt-public-key", "/c.pem"}, env);
    ASSERT_TRUE(outcome.config) << outcome.error;
    EXPECT_EQ(outcome.config->listen_port, 9001);
    EXPECT_EQ(outcome.config->jwt_public_keys, (std::vector<std::string>{"/c.pem"}));
}

TEST(Config, RefusesBadValuesNamingTheFlag) {
    struct Case {
        std::vector<std::string> args;
        const char* expected;
    };
    const Case cases[] = {
        {{"--listen", "1234"}, "--listen"},
        {{"--listen", "host:0"}, "--listen"},
        {{"--listen", "host:65536"}, "--listen"},
        {{"--listen", "::1:80"}, "--listen"},
        {{"--pool-size", "0"}, "--pool-size"},
        {{"--pool-size", "many"}, "--pool-size"},
        {{"--max-body-bytes", "-1"}, "--max-body-bytes"},
        {{"--log-format", "xml"}, "--log-format"},
        {{"--log-level", "loud"}, "--log-level"},
        {{"--request-timeout", "0"}, "--request-timeout"},
        {{"--pool-size"}, "--pool-size: missing value"},
        {{"--no-such-flag", "1"}, "unknown flag --no-such-flag"},
        {{"stray"}, "unexpected argument 'stray'"},
    };
    for (const auto& c : cases) {
        auto outcome = parse(c.args);
        EXPECT_FALSE(outcome.config) << c.expected;
        EXPECT_NE(outcome.error.find(c.expected), std::string::npos) << outcome.error;
    }
    auto outcome = parse({}, {{"GENCONTROL_POOL_SIZE", "x"}});
    EXPECT_NE(outcome.error.find("GENCONTROL_POOL_SIZE"), std::string::npos) << outcome.error;
}

TEST(Config, ListenAddressForms) {
    EXPECT_EQ(parse_listen_address("127.0.0.1:1234"), std::make_pair(std::string("127.0.0.1"), 1234));
    EXPECT_EQ(parse_listen_address("[::1]:1234"), std::make_pair(std::string("::1"), 1234));
    EXPECT_EQ(parse_listen_address("localhost:80"), std::make_pair(std::string("localhost"), 80));
    EXPECT_EQ(parse_listen_address(":80"), std::make_pair(std::string("0.0.0.0"), 80));
    EXPECT_FALSE(parse_listen_address("localhost"));
    EXPECT_FALSE(parse_listen_address("localhost:http"));
}

TEST(Config, HelpIsRecognised) {
    EXPECT_TRUE(parse({"--help"}).help);
    EXPECT_NE(usage().find("--database-url"), std::string::npos);
}

TEST(Metrics, RendersCountersHistogramsAndPool) {
    Metrics metrics;
    metrics.observe_request("/upcall/v1/validate", "POST", 200, 0.0004);
    metrics.observe_request("/upcall/v1/validate", "POST", 200, 0.003);
    metrics.observe_request("/upcall/v1/validate", "POST", 200, 30);
    metrics.observe_request("unmatched", "GET", 404, 0.0001);
    metrics.count_db_error("unavailable");
    metrics.count_connect(false);
    metrics.count_connect(true);
    metrics.count_connect_failure();
    std::string text = metrics.render({8, 2, 5});
    auto has = [&](const std::string& line) {
        EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
    };
    has(R"(gencontrol_http_requests_total{route="/upcall/v1/validate",method="POST",status="200"} 3)");
    has(R"(gencontrol_http_requests_total{route="unmatched",method="GET",status="404"} 1)");
    has(R"(gencontrol_http_request_duration_seconds_bucket{route="/upcall/v1/validate",status="200",le="0.0005"} 1)");
    has(R"(gencontrol_http_request_duration_seconds_bucket{route="/upcall/v1/validate",status="200",le="0.005"} 2)");
    has(R"(gencontrol_http_request_duration_seconds_bucket{route="/upcall/v1/validate",status="200",le="10"} 2)");
    has(R"(gencontrol_http_request_duration_seconds_bucket{route="/upcall/v1/validate",status="200",le="+Inf"} 3)");
    has(R"(gencontrol_http_request_duration_seconds_count{route="/upcall/v1/validate",status="200"} 3)");
    has("# TYPE gencontrol_http_request_duration_seconds histogram");
    has("gencontrol_db_pool_size 8");
    has("gencontrol_db_pool_in_use 2");
    has("gencontrol_db_pool_connected 5");
    has(R"(gencontrol_db_errors_total{kind="unavailable"} 1)");
    has("gencontrol_db_connects_total 2");
    has("gencontrol_db_reconnects_total 1");
    has("gencontrol_db_connect_failures_total 1");
}

TEST(Log, JsonLinesAreJsonAndPlainLinesQuoteWhatNeedsIt) {
    auto line =
        log::format_line(LogFormat::json, LogLevel::warn, "request", {{"status", 503}, {"error", "a \"b\""}});
    auto parsed = nlohmann::json::parse(line);
    EXPECT_EQ(parsed["level"], "warn");
    EXPECT_EQ(parsed["msg"], "request");
    EXPECT_EQ(parsed["status"], 503);
    EXPECT_EQ(parsed["error"], "a \"b\"");
    EXPECT_TRUE(parsed.contains("time"));

    line = log::format_line(LogFormat::plain, LogLevel::info, "listening",
                            {{"address", "127.0.0.1:1"}, {"note", "two words"}});
    EXPECT_NE(line.find("info  listening address=127.0.0.1:1 note=\"two words\""), std::string::npos) << line;
}

// --- the router without a database ---------------------------------------------------------

namespace {

class RouterTest : public ::testing::Test {
protected:
    // A socket directory that does not exist: connecting fails at once, as with a stopped server.
    RouterTest()
        : pool({"host=/nonexistent/gencontrol-test port=1 dbname=x connect_timeout=1", 2,
                std::chrono::milliseconds(500), std::chrono::milliseconds(1000)},
               metrics),
          router(pool, verifier, metrics, 1, 2) {}

    Reply call(std::string_view method, std::string_view path, std::string_view body = {},
               std::string_view auth = {}) {
        return router.handle({method, path, auth, body});
    }

    static std::string msg(const Reply& reply) { return nlohmann::json::parse(reply.body).at("msg"); }

    static std::string header(const Reply& reply, std::string_view name) {
        for (const auto& [n, v] : reply.headers)
            if (n == name) return v;
        return {};
    }

    Metrics metrics;
    JwtVerifier verifier;
    Pool pool;
    Router router;
};

}  // namespace

TEST_F(RouterTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
    auto reply = call("GET", "/nope");
    EXPECT_EQ(reply.status, 404);
    EXPECT_NE(msg(reply).find("/nope"), std::string::npos);
    reply = call("GET", "/upcall/v1/validate");
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(header(reply, "Allow"), "POST");
    reply = call("POST", "/status");
    EXPECT_EQ(reply.status, 405);
    EXPECT_EQ(header(reply, "Allow"), "GET");
    EXPECT_EQ(call("DELETE", "/debug/v1/inspect").status, 405);
    EXPECT_EQ(call("GET", "/upcall/v1/validate/").status, 404);
}

TEST_F(RouterTest, StatusAndHeadAnswerWithoutTheDatabase) {
    EXPECT_EQ(call("GET", "/status").status, 200);
    EXPECT_EQ(call("HEAD", "/status").status, 200);
}

TEST_F(RouterTest, BadBodiesAre400BeforeTheDatabaseIsTouched) {
    auto reply = call("POST", "/upcall/v1/validate", R"({"tenants": [{"id": "x", "gen": 1}]})");
    EXPECT_EQ(reply.status, 400);
    EXPECT_EQ(msg(reply).rfind("tenants[0].id", 0), 0u);
    EXPECT_EQ(call("POST", "/upcall/v1/re-attach", "{").status, 400);
    EXPECT_EQ(call("POST", "/debug/v1/attach-hook", "{}").status, 400);
    EXPECT_EQ(call("POST", "/debug/v1/inspect", "[]").status, 400);
}

TEST_F(RouterTest, AnUnreachableDatabaseIs503WithRetryAfter) {
    for (auto path : {"/upcall/v1/re-attach"}) {
        auto reply = call("POST", path, R"({"node_id": 1})");
        EXPECT_EQ(reply.status, 503);
        EXPECT_EQ(header(reply, "Retry-After"), "1");
        EXPECT_NE(msg(reply).find("database unavailable"), std::string::npos) << msg(reply);
    }
    auto reply = call("GET", "/ready");
    EXPECT_EQ(reply.status, 503);
    EXPECT_EQ(header(reply, "Retry-After"), "1");
    EXPECT_EQ(call("GET", "/metrics").status, 200);
}

TEST(DbErrorMapping, StatusesFollowTheSqlstate) {
    auto status = [](DbErrorKind kind, const char* state) {
        return reply_for_db_error(DbError(kind, state, "m"), 10).status;
    };
    EXPECT_EQ(status(DbErrorKind::unavailable, ""), 503);
    EXPECT_EQ(status(DbErrorKind::not_primary, "25006"), 503);
    EXPECT_EQ(status(DbErrorKind::timeout, "57014"), 503);
    EXPECT_EQ(status(DbErrorKind::not_installed, "3F000"), 503);
    EXPECT_EQ(status(DbErrorKind::query, "22P02"), 400);
    EXPECT_EQ(status(DbErrorKind::query, "22023"), 400);
    EXPECT_EQ(status(DbErrorKind::query, "22003"), 400);
    EXPECT_EQ(status(DbErrorKind::query, "P0002"), 404);
    EXPECT_EQ(status(DbErrorKind::query, "55000"), 409);
    EXPECT_EQ(status(DbErrorKind::query, "40001"), 503);
    EXPECT_EQ(status(DbErrorKind::query, "40P01"), 503);
    EXPECT_EQ(status(DbErrorKind::query, "53300"), 503);
    EXPECT_EQ(status(DbErrorKind::query, "42501"), 500);
    EXPECT_EQ(status(DbErrorKind::query, "XX000"), 500);
    EXPECT_TRUE(reply_for_db_error(DbError(DbErrorKind::unavailable, "", "m"), 10).retry_after);
    EXPECT_FALSE(reply_for_db_error(DbError(DbErrorKind::query, "22P02", "m"), 10).retry_after);
    // A 500 never carries the database's own words.
    EXPECT_EQ(reply_for_db_error(DbError(DbErrorKind::query, "XX000", "secret detail"), 10).message,
              "internal error");
}

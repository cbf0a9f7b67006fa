// gencontrol-node's routes called as plain functions (no listener): start-up 503, the JSON
// contract of every route, its errors, and what lands in the object store. Runs the node with
// --no-generations, so no generation service is needed; the generation paths run against the real
// shim in test/integration/client/.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "client_test_support.hpp"
#include "config.hpp"
#include "node.hpp"
#include "routes.hpp"

using namespace gencontrol;
using nlohmann::json;

namespace {
const std::string kTenant = "072f1291a5310026820b2fe4b2968934-0102";
const std::string kTimeline = "de200bd42b49cc1814412c7e592dd6e9";

class NodeRoutes : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = client::test_support::fresh_directory("node-routes");
        node::NodeConfig config;
        config.node_id = 1;
        config.workdir = root_ + "/work";
        config.remote_storage = root_ + "/remote";
        config.no_generations = true;
        node_ = std::make_unique<node::Node>(config);
        ASSERT_TRUE(node_->open().is_ok());
    }

    serving::Reply call(std::string method, std::string path, std::string body = "") {
        methods_.push_back(std::move(method));
        paths_.push_back(std::move(path));
        bodies_.push_back(std::move(body));
        serving::Request request;
        request.method = methods_.back();
        request.path = paths_.back();
        request.body = bodies_.back();
        request.header = [](std::string_view) { return std::optional<std::string_view>(); };
        return node::handle(*node_, request);
    }
    json call_json(std::string method, std::string path, json body, int expected = 200) {
        auto r = call(std::move(method), std::move(path), body.is_null() ? "" : body.dump());
        EXPECT_EQ(r.status, expected) << r.body;
        return json::parse(r.body);
    }
    std::string tenant_path() { return "/v1/tenant/" + kTenant; }
    std::string timeline_path(const std::string& action) {
        return tenant_path() + "/timeline/" + kTimeline + "/" + action;
    }

    std::string root_;
    std::unique_ptr<node::Node> node_;
    std::deque<std::string> methods_, paths_, bodies_;  // the views in a Request point here
};

TEST_F(NodeRoutes, TenantRoutesWait503UntilStartUpFinished) {
    EXPECT_EQ(call("GET", "/status").status, 200);
    auto r = call("GET", tenant_path());
    EXPECT_EQ(r.status, 503);
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].first, "Retry-After");
    EXPECT_EQ(call("GET", "/metrics").status, 200);
    ASSERT_TRUE(node_->start_up().is_ok());
    EXPECT_EQ(call("GET", tenant_path()).status, 404);
}

TEST_F(NodeRoutes, WriteCheckpointCompactReadBack) {
    ASSERT_TRUE(node_->start_up().is_ok());
    call_json("PUT", tenant_path() + "/location_config", {{"mode", "AttachedSingle"}, {"generation", 3}});
    auto w = call_json("POST", timeline_path("write"),
                       {{"records", {{{"key", "a"}, {"value", "1"}}, {{"key", "b"}, {"value", "2"}}}}});
    EXPECT_EQ(w["lsn"], 2);
    auto c = call_json("POST", timeline_path("checkpoint"), json::object());
    EXPECT_EQ(c["remote_consistent_lsn"], 2);
    EXPECT_EQ(c["remote_consistent_lsn_visible"], 2);  // no generations: nothing to wait for
    call_json("POST", timeline_path("write"), {{"records", {{{"key", "a"}, {"value", "3"}}}}});
    call_json("POST", timeline_path("checkpoint"), json::object());
    auto compacted = call_json("POST", timeline_path("compact"), json::object());
    EXPECT_EQ(compacted["layers_replaced"], 2);
    EXPECT_EQ(call_json("POST", timeline_path("compact"), json::object())["layers_replaced"], 0);

    auto read = call_json("GET", timeline_path("read"), nullptr);
    EXPECT_EQ(read["lsn"], 3);
    EXPECT_EQ(read["records"], (json{{"a", "3"}, {"b", "2"}}));
    auto described = call_json("GET", tenant_path(), nullptr);
    EXPECT_EQ(described["mode"], "AttachedSingle");
    EXPECT_EQ(described["generation"], 3);
    EXPECT_EQ(described["timelines"][kTimeline]["last_record_lsn"], 3);

    // Unsuffixed keys without generations; the replaced layers were deleted at once.
    std::string dir = root_ + "/remote/tenants/" + kTenant + "/timelines/" + kTimeline;
    std::vector<std::string> names;
    for (auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names,
              (std::vector<std::string>{"image-0000000000000000-0000000000000003", "index_part.json"}));

    // Detach and attach again: the state comes back from the store.
    call_json("PUT", tenant_path() + "/location_config", {{"mode", "Detached"}});
    EXPECT_EQ(call("GET", tenant_path()).status, 404);
    call_json("PUT", tenant_path() + "/location_config", {{"mode", "AttachedSingle"}, {"generation", 4}});
    EXPECT_EQ(call_json("GET", timeline_path("read"), nullptr)["records"], (json{{"a", "3"}, {"b", "2"}}));
}

TEST_F(NodeRoutes, Errors) {
    ASSERT_TRUE(node_->start_up().is_ok());
    EXPECT_EQ(call("GET", "/v1/tenant/nothex").status, 400);
    EXPECT_EQ(call("PUT", tenant_path() + "/location_config", "{not json").status, 400);
    EXPECT_EQ(call("PUT", tenant_path() + "/location_config", R"({"mode": "Attached"})").status, 400);
    EXPECT_EQ(call("PUT", tenant_path() + "/location_config", R"({"mode": "AttachedSingle"})").status, 400);
    EXPECT_EQ(
        call("PUT", tenant_path() + "/location_config", R"({"mode": "AttachedSingle", "generation": 0})")
            .status,
        400);
    EXPECT_EQ(
        call("PUT", tenant_path() + "/location_config", R"({"mode": "AttachedSingle", "generation": "7"})")
            .status,
        400);
    EXPECT_EQ(call("POST", timeline_path("write"), R"({"records": []})").status, 404);  // unknown tenant

    call_json("PUT", tenant_path() + "/location_config", {{"mode", "AttachedSingle"}, {"generation", 5}});
    EXPECT_EQ(
        call("PUT", tenant_path() + "/location_config", R"({"mode": "AttachedSingle", "generation": 4})")
            .status,
        409);
    EXPECT_EQ(call("POST", timeline_path("checkpoint")).status, 404);  // unknown timeline
    EXPECT_EQ(call("POST", tenant_path() + "/timeline/xyz/write", R"({"records": []})").status, 400);
    EXPECT_EQ(call("POST", timeline_path("write"), R"({"records": [{"key": 1, "value": "x"}]})").status, 400);
    EXPECT_EQ(call("GET", timeline_path("write")).status, 405);
    EXPECT_EQ(call("GET", "/v1/nothing").status, 404);

    call_json("PUT", tenant_path() + "/location_config", {{"mode", "AttachedStale"}, {"generation", 5}});
    EXPECT_EQ(call("POST", timeline_path("write"), R"({"records": [{"key": "k", "value": "v"}]})").status,
              409);
    call_json("PUT", tenant_path() + "/location_config", {{"mode", "Secondary"}});
    EXPECT_EQ(call_json("GET", tenant_path(), nullptr)["generation"], nullptr);
}

// Bodies are read as the shim reads them (serving/json_body.hpp): a member named twice, or
// nesting past 64, is 400 with its reason, and nothing is applied.
TEST_F(NodeRoutes, AmbiguousOrDeepBodiesAreRefusedWithTheirReason) {
    ASSERT_TRUE(node_->start_up().is_ok());
    auto twice = call("PUT", tenant_path() + "/location_config",
                      R"({"mode": "AttachedSingle", "generation": 5, "mode": "Detached"})");
    EXPECT_EQ(twice.status, 400);
    EXPECT_EQ(json::parse(twice.body)["msg"], R"(duplicate member "mode" in one JSON object)") << twice.body;
    EXPECT_EQ(call("GET", tenant_path()).status, 404);  // not attached
    auto deep = call("POST", "/v1/deletion_queue/flush",
                     R"({"execute": true, "x": )" + std::string(100'000, '[') + std::string(100'000, ']') + "}");
    EXPECT_EQ(deep.status, 400);
    EXPECT_EQ(json::parse(deep.body)["msg"], "JSON nested deeper than 64 levels") << deep.body;
    auto list = call("PUT", tenant_path() + "/location_config", "[]");
    EXPECT_EQ(json::parse(list.body)["msg"], "the request body must be a JSON object") << list.body;
}

// A 500 carries its reason to the access log (Reply::log_message), not only to the client.
TEST_F(NodeRoutes, ServerErrorsAreLoggedWithTheirReason) {
    ASSERT_TRUE(node_->start_up().is_ok());
    call_json("PUT", tenant_path() + "/location_config", {{"mode", "AttachedSingle"}, {"generation", 5}});
    call_json("POST", timeline_path("write"), {{"records", {{{"key", "a"}, {"value", "1"}}}}});
    call_json("POST", timeline_path("checkpoint"), nullptr);
    // Damage the layer in the store: attaching again (a newer generation) must refuse it.
    auto dir = std::filesystem::path(root_) / "remote/tenants" / kTenant / "timelines" / kTimeline;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().filename().string().starts_with("delta-")) std::ofstream(e.path()) << "damaged";
    }
    auto r =
        call("PUT", tenant_path() + "/location_config", R"({"mode": "AttachedSingle", "generation": 6})");
    EXPECT_EQ(r.status, 500) << r.body;
    EXPECT_NE(r.log_message.find("does not match its size or checksum"), std::string::npos)
        << "log_message: " << r.log_message;
    // Every refusal says why in the log, not only 500s.
    EXPECT_NE(call("GET", "/v1/tenant/nothex").log_message, "");
}

TEST_F(NodeRoutes, FlushAnswersTheCounters) {
    ASSERT_TRUE(node_->start_up().is_ok());
    auto c = call_json("POST", "/v1/deletion_queue/flush", {{"execute", true}});
    EXPECT_EQ(c, (json{{"submitted", 0}, {"validated", 0}, {"executed", 0}, {"dropped", 0}}));
    EXPECT_EQ(call("POST", "/v1/deletion_queue/flush", R"({"execute": 1})").status, 400);
    std::string metrics = call("GET", "/metrics").body;
    for (const char* name : {"gencontrol_node_deletion_queue_submitted_total 0",
                             "gencontrol_node_deletion_queue_dropped_total 0",
                             "gencontrol_node_validations_total{result=\"valid\"} 0"}) {
        EXPECT_NE(metrics.find(name), std::string::npos) << name;
    }
}

}  // namespace

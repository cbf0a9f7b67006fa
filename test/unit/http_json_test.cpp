// Unit tests for the shim's request parsing (src/http/json.cpp): every accepted shape, and every
// wrong type, missing field, bad tenant id and out-of-range generation, with the field named.
#include "json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace gencontrol::http;

namespace {

constexpr const char* kTenant = "072f1291a5310026820b2fe4b2968934";

template <class T>
void expect_refused(const Parsed<T>& parsed, std::string_view field_prefix, int status = 400) {
    ASSERT_FALSE(parsed.value.has_value()) << "accepted, expected refusal naming " << field_prefix;
    EXPECT_EQ(parsed.error.status, status) << parsed.error.message;
    EXPECT_EQ(parsed.error.message.rfind(field_prefix, 0), 0u)
        << "message '" << parsed.error.message << "' should start with '" << field_prefix << "'";
}

std::string validate_body(const std::string& entry) {
    return R"({"tenants": [)" + entry + "]}";
}

std::string entry(const std::string& id_json, const std::string& gen_json) {
    return R"({"id": )" + id_json + R"(, "gen": )" + gen_json + "}";
}

std::string json_string(const std::string& s) {
    return "\"" + s + "\"";
}

}  // namespace

// --- validate -----------------------------------------------------------------------------

TEST(ValidateRequest, AcceptsEntriesInOrder) {
    auto parsed = parse_validate_request(validate_body(
        entry(json_string(kTenant), "7") + "," + entry(json_string(std::string(kTenant) + "-0102"), "8")));
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    ASSERT_EQ(parsed.value->tenants.size(), 2u);
    EXPECT_EQ(parsed.value->tenants[0].id.to_string(), kTenant);
    EXPECT_EQ(parsed.value->tenants[0].generation, 7u);
    EXPECT_EQ(parsed.value->tenants[1].id.to_string(), std::string(kTenant) + "-0102");
    EXPECT_EQ(parsed.value->tenants[1].generation, 8u);
}

TEST(ValidateRequest, AcceptsAnEmptyList) {
    auto parsed = parse_validate_request(R"({"tenants": []})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_TRUE(parsed.value->tenants.empty());
}

TEST(ValidateRequest, AcceptsUpperCaseIdsAndPrintsThemLowerCase) {
    auto parsed = parse_validate_request(
        validate_body(entry(json_string("072F1291A5310026820B2FE4B2968934-0A0B"), "1")));
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_EQ(parsed.value->tenants[0].id.to_string(), "072f1291a5310026820b2fe4b2968934-0a0b");
}

TEST(ValidateRequest, AcceptsTheWholeU32Range) {
    for (const char* gen : {"0", "1", "2147483647", "2147483648", "4294967295"}) {
        auto parsed = parse_validate_request(validate_body(entry(json_string(kTenant), gen)));
        ASSERT_TRUE(parsed.value) << gen << ": " << parsed.error.message;
        EXPECT_EQ(std::to_string(parsed.value->tenants[0].generation), gen);
    }
}

TEST(ValidateRequest, IgnoresUnknownFields) {
    auto parsed = parse_validate_request(R"({"tenants": [{"id": ")" + std::string(kTenant) +
                                         R"(", "gen": 3, "extra": [1, {"x": null}]}], "future": true})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_EQ(parsed.value->tenants[0].generation, 3u);
}

TEST(ValidateRequest, RefusesMalformedJson) {
    for (const char* body : {"", "{", "{\"tenants\": [}", "nul", "{\"tenants\": []} trailing", "\xff\xfe"}) {
        auto parsed = parse_validate_request(body);
        expect_refused(parsed, "malformed JSON");
    }
}

TEST(ValidateRequest, RefusesABodyThatIsNotAnObject) {
    for (const char* body : {"[]", "\"tenants\"", "1", "null", "true"}) {
        auto parsed = parse_validate_request(body);
        expect_refused(parsed, "the request body must be a JSON object");
    }
}

TEST(ValidateRequest, RefusesMissingOrMistypedTenants) {
    expect_refused(parse_validate_request("{}"), "tenants: missing");
    expect_refused(parse_validate_request(R"({"tenants": null})"), "tenants: must not be null");
    for (const char* value : {"{}", "\"x\"", "1", "true"})
        expect_refused(parse_validate_request(std::string(R"({"tenants": )") + value + "}"),
                       "tenants: expected an array");
}

TEST(ValidateRequest, RefusesEntriesThatAreNotObjects) {
    for (const char* value : {"1", "\"x\"", "[]", "null", "true"})
        expect_refused(parse_validate_request(validate_body(value)), "tenants[0]: expected an object");
}

TEST(ValidateRequest, NamesTheEntryWithABadId) {
    std::string good = entry(json_string(kTenant), "1");
    expect_refused(parse_validate_request(validate_body(good + R"(, {"gen": 1})")), "tenants[1].id: missing");
    expect_refused(parse_validate_request(validate_body(good + R"(, {"id": null, "gen": 1})")),
                   "tenants[1].id: must not be null");
    for (const char* id : {"1", "true", "[]", "{}"})
        expect_refused(parse_validate_request(validate_body(good + "," + entry(id, "1"))),
                       "tenants[1].id: expected a tenant shard id");
    for (std::string id :
         {std::string(""), std::string("xyz"), std::string(kTenant).substr(1), std::string(kTenant) + "0",
          std::string(kTenant) + "-0000", std::string(kTenant) + "-0202", std::string(kTenant) + "-01",
          std::string(kTenant) + "_0102", std::string("g72f1291a5310026820b2fe4b2968934"),
          std::string(kTenant) + "-0102 ", std::string(" ") + kTenant})
        expect_refused(parse_validate_request(validate_body(good + "," + entry(json_string(id), "1"))),
                       "tenants[1].id: invalid tenant shard id");
}

TEST(ValidateRequest, NamesTheEntryWithABadGeneration) {
    std::string good = entry(json_string(kTenant), "1");
    expect_refused(parse_validate_request(validate_body(good + R"(, {"id": ")" + kTenant + "\"}")),
                   "tenants[1].gen: missing");
    for (const char* gen : {"-1", "4294967296", "18446744073709551615", "18446744073709551616",
                            "-9223372036854775809", "7.0", "7.5", "1e3", "1e20", "\"7\"", "true", "[]", "{}"})
        expect_refused(parse_validate_request(validate_body(good + "," + entry(json_string(kTenant), gen))),
                       "tenants[1].gen: expected an integer between 0 and 4294967295");
    expect_refused(parse_validate_request(validate_body(good + "," + entry(json_string(kTenant), "null"))),
                   "tenants[1].gen: must not be null");
}

TEST(ValidateRequest, BoundsTheNumberOfEntries) {
    // The bound is checked before the entries are, so a cheap array of zeros reaches it.
    std::string body = R"({"tenants": [0)";
    for (std::size_t i = 0; i < kMaxValidateEntries; ++i) body += ",0";
    body += "]}";
    expect_refused(parse_validate_request(body), "tenants: at most 1000000 entries", 413);
}

TEST(ValidateRequest, ParsesTenThousandEntries) {
    std::string body = R"({"tenants": [)";
    for (int i = 0; i < 10000; ++i) {
        if (i) body += ',';
        char id[33];
        std::snprintf(id, sizeof id, "%032x", i);
        body += entry(json_string(id), std::to_string(i + 1));
    }
    body += "]}";
    auto parsed = parse_validate_request(body);
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    ASSERT_EQ(parsed.value->tenants.size(), 10000u);
    EXPECT_EQ(parsed.value->tenants[9999].generation, 10000u);
}

// The streaming fast path must give exactly the tree parser's answer, value or refusal.
void expect_same_as_tree_parser(const std::string& body) {
    auto fast = parse_validate_request(body);
    auto tree = parse_validate_request_without_fast_path(body);
    ASSERT_EQ(fast.value.has_value(), tree.value.has_value()) << body;
    if (!tree.value) {
        EXPECT_EQ(fast.error.status, tree.error.status) << body;
        EXPECT_EQ(fast.error.message, tree.error.message) << body;
        return;
    }
    ASSERT_EQ(fast.value->tenants.size(), tree.value->tenants.size()) << body;
    for (std::size_t i = 0; i < tree.value->tenants.size(); ++i) {
        EXPECT_EQ(fast.value->tenants[i].id, tree.value->tenants[i].id) << body;
        EXPECT_EQ(fast.value->tenants[i].generation, tree.value->tenants[i].generation) << body;
    }
}

TEST(ValidateRequest, FastPathAgreesWithTheTreeParser) {
    const std::string id = json_string(kTenant);
    const std::string good = entry(id, "7");
    const std::vector<std::string> bodies = {
        validate_body(good),
        validate_body(good + "," + entry(json_string(std::string(kTenant) + "-0102"), "4294967295")),
        R"({"tenants": []})",
        R"( { "tenants" : [ { "gen" : 0 , "id" : ")" + std::string(kTenant) + R"(" } ] } )",
        // Unknown members of every shape, at both levels, before and after the known ones.
        R"({"x": {"tenants": [1], "id": [{"gen": "a"}]}, "tenants": [{"y": [[{}], null], "id": )" + id +
            R"(, "z": {"gen": -1}, "gen": 3, "w": 1.5}], "v": [true, false, null, "s", 2, -2]})",
        // Repeated keys: the tree parser keeps the last value.
        R"({"tenants": 5, "tenants": [)" + good + "]}",
        R"({"tenants": [)" + good + R"(], "tenants": []})",
        R"({"tenants": [{"id": "nope", "id": )" + id + R"(, "gen": 1}]})",
        R"({"tenants": [{"id": )" + id + R"(, "gen": 1, "gen": 2}]})",
        R"({"tenants": [{"id": )" + id + R"(, "gen": 1, "gen": -2}]})",
        // Escapes in keys and values, numbers at the edges of their type.
        R"({"t\u0065nants": [{"\u0069d": "072f1291a5310026820b2fe4b296893\u0034", "gen": 9}]})",
        validate_body(entry(id, "-0")),
        validate_body(entry(id, "-1")),
        validate_body(entry(id, "4294967296")),
        validate_body(entry(id, "18446744073709551615")),
        validate_body(entry(id, "18446744073709551616")),
        validate_body(entry(id, "1e2")),
        validate_body(entry(id, "1.0")),
        validate_body(entry(id, "\"1\"")),
        validate_body(entry(id, "null")),
        validate_body(entry(id, "true")),
        validate_body(entry("null", "1")),
        validate_body(entry("5", "1")),
        validate_body(entry(json_string(std::string(kTenant) + "-0000"), "1")),
        validate_body(entry(json_string(std::string(kTenant) + "-0201"), "1")),
        validate_body(R"({"id": )" + id + "}"),
        validate_body(R"({"gen": 1})"),
        validate_body("[]"),
        validate_body("1"),
        R"({"tenants": {}})",
        R"({"tenants": null})",
        R"({})",
        R"([])",
        R"("tenants")",
        "",
        "\xEF\xBB\xBF" + validate_body(good),
        validate_body(good) + " x",
        validate_body(good) + "{}",
        validate_body(good).substr(1),
        R"({"tenants": [)" + good,
        R"({"tenants": [)" + good + ",]}",
        R"({"tenants": [{"id": "\ud800", "gen": 1}]})",
        "{\"tenants\": [{\"id\": \"\xff\", \"gen\": 1}]}",
        // The compact form a pageserver sends, JSON whitespace of every kind, leading zeros,
        // upper-case hex, a control character inside a string.
        R"({"tenants":[{"id":)" + id + R"(,"gen":1},{"gen":2,"id":)" + id + "}]}",
        "\t{\r\n\"tenants\"\t:\n[\r" + good + "\n]\t}\r\n",
        validate_body(entry(id, "007")),
        validate_body(entry(id, "0")),
        validate_body(entry(id, "00")),
        validate_body(entry(json_string("072F1291A5310026820B2FE4B2968934-0102"), "1")),
        "{\"tenants\": [{\"id\": \"072f1291a5310026820b2fe4b296893\x01\", \"gen\": 1}]}",
    };
    for (const auto& body : bodies) expect_same_as_tree_parser(body);

    // Every single-byte deletion, and a replacement by each JSON-significant byte, of one body.
    const std::string base = R"({"tenants": [{"id": ")" + std::string(kTenant) +
                             R"(-0102", "gen": 12, "x": [1, {"a": null}]}, {"gen": 0, "id": )" + id + "}]}";
    for (std::size_t i = 0; i < base.size(); ++i) {
        expect_same_as_tree_parser(base.substr(0, i) + base.substr(i + 1));
        for (char c : std::string("{}[],:\"\\ 0-a.e")) {
            std::string mutated = base;
            mutated[i] = c;
            expect_same_as_tree_parser(mutated);
        }
    }
}

// --- re-attach ----------------------------------------------------------------------------

namespace {

nlohmann::json full_registration() {
    return {{"node_id", 5},
            {"listen_pg_addr", "ps5.local"},
            {"listen_pg_port", 6400},
            {"listen_http_addr", "ps5.local"},
            {"listen_http_port", 9898},
            {"availability_zone_id", "az-1"},
            {"listen_https_port", nullptr},
            {"listen_grpc_addr", "ps5.local"},
            {"listen_grpc_port", 51051},
            {"node_ip_addr", "10.0.0.5"},
            {"some_future_field", {1, 2}}};
}

Parsed<ReAttachRequest> re_attach_with(const nlohmann::json& registration) {
    return parse_re_attach_request(nlohmann::json{{"node_id", 5}, {"register", registration}}.dump());
}

}  // namespace

TEST(ReAttachRequest, AcceptsANodeIdAlone) {
    auto parsed = parse_re_attach_request(R"({"node_id": 5})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_EQ(parsed.value->node_id, 5);
    EXPECT_FALSE(parsed.value->registration);
    EXPECT_FALSE(parsed.value->empty_local_disk);
}

TEST(ReAttachRequest, AcceptsNullRegisterAndEmptyLocalDisk) {
    auto parsed = parse_re_attach_request(R"({"node_id": 5, "register": null, "empty_local_disk": null})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_FALSE(parsed.value->registration);
    parsed = parse_re_attach_request(R"({"node_id": 5, "empty_local_disk": true, "unknown": "ignored"})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_TRUE(parsed.value->empty_local_disk);
}

TEST(ReAttachRequest, AcceptsAFullRegistration) {
    auto parsed = re_attach_with(full_registration());
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    const auto& r = *parsed.value->registration;
    EXPECT_EQ(r.node_id, 5);
    EXPECT_EQ(r.listen_pg_addr, "ps5.local");
    EXPECT_EQ(r.listen_pg_port, 6400);
    EXPECT_EQ(r.listen_http_addr, "ps5.local");
    EXPECT_EQ(r.listen_http_port, 9898);
    EXPECT_EQ(r.availability_zone_id, "az-1");
}

TEST(ReAttachRequest, AcceptsARegistrationWithoutAvailabilityZone) {
    auto registration = full_registration();
    registration.erase("availability_zone_id");
    auto parsed = re_attach_with(registration);
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_FALSE(parsed.value->registration->availability_zone_id);
}

TEST(ReAttachRequest, RefusesABadNodeId) {
    expect_refused(parse_re_attach_request("{}"), "node_id: missing");
    expect_refused(parse_re_attach_request(R"({"node_id": null})"), "node_id: must not be null");
    for (const char* id :
         {"0", "-1", "1.5", "1.0", "\"5\"", "true", "[]", "9223372036854775808", "18446744073709551615"})
        expect_refused(parse_re_attach_request(std::string(R"({"node_id": )") + id + "}"),
                       "node_id: expected an integer between 1 and 9223372036854775807");
    EXPECT_TRUE(parse_re_attach_request(R"({"node_id": 9223372036854775807})").value);
}

TEST(ReAttachRequest, NamesEachMissingRegistrationField) {
    for (const char* field :
         {"node_id", "listen_pg_addr", "listen_pg_port", "listen_http_addr", "listen_http_port"}) {
        auto registration = full_registration();
        registration.erase(field);
        expect_refused(re_attach_with(registration), std::string("register.") + field + ": missing");
    }
}

TEST(ReAttachRequest, NamesEachMistypedRegistrationField) {
    struct Case {
        const char* field;
        nlohmann::json value;
        const char* expected;
    };
    const Case cases[] = {
        {"node_id", "5", "register.node_id: expected an integer"},
        {"listen_pg_addr", 5, "register.listen_pg_addr: expected a string"},
        {"listen_http_addr", nlohmann::json::array(), "register.listen_http_addr: expected a string"},
        {"listen_pg_port", "6400", "register.listen_pg_port: expected an integer between 0 and 65535"},
        {"listen_pg_port", 65536, "register.listen_pg_port: expected an integer between 0 and 65535"},
        {"listen_http_port", -1, "register.listen_http_port: expected an integer between 0 and 65535"},
        {"listen_http_port", 80.5, "register.listen_http_port: expected an integer between 0 and 65535"},
        {"availability_zone_id", 1, "register.availability_zone_id: expected a string"},
        {"listen_https_port", "443", "register.listen_https_port: expected an integer"},
        {"listen_grpc_addr", false, "register.listen_grpc_addr: expected a string"},
        {"listen_grpc_port", 70000, "register.listen_grpc_port: expected an integer"},
        {"node_ip_addr", 10, "register.node_ip_addr: expected a string"},
    };
    for (const auto& c : cases) {
        auto registration = full_registration();
        registration[c.field] = c.value;
        expect_refused(re_attach_with(registration), c.expected);
    }
}

TEST(ReAttachRequest, RefusesARegistrationForAnotherNode) {
    auto registration = full_registration();
    registration["node_id"] = 6;
    expect_refused(re_attach_with(registration), "register.node_id: must equal node_id (5)");
}

TEST(ReAttachRequest, RefusesARegisterThatIsNotAnObject) {
    for (const nlohmann::json& value : {nlohmann::json(1), nlohmann::json("x"), nlohmann::json::array()})
        expect_refused(re_attach_with(value), "register: expected an object");
}

TEST(ReAttachRequest, RefusesANonBooleanEmptyLocalDisk) {
    expect_refused(parse_re_attach_request(R"({"node_id": 5, "empty_local_disk": "yes"})"),
                   "empty_local_disk: expected a boolean");
    expect_refused(parse_re_attach_request(R"({"node_id": 5, "empty_local_disk": 0})"),
                   "empty_local_disk: expected a boolean");
}

// --- attach-hook ---------------------------------------------------------------------------

TEST(AttachHookRequest, AcceptsAttachOverrideAndDetach) {
    auto parsed =
        parse_attach_hook_request(std::string(R"({"tenant_shard_id": ")") + kTenant + R"(", "node_id": 3})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_EQ(parsed.value->node_id, 3);
    EXPECT_FALSE(parsed.value->generation_override);

    parsed =
        parse_attach_hook_request(std::string(R"({"tenant_shard_id": ")") + kTenant +
                                  R"(", "node_id": 3, "generation_override": 2147483647, "config": {}})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_EQ(parsed.value->generation_override, 2147483647);

    parsed = parse_attach_hook_request(std::string(R"({"tenant_shard_id": ")") + kTenant +
                                       R"(", "node_id": null, "generation_override": null})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_FALSE(parsed.value->node_id);
}

TEST(AttachHookRequest, RefusesABadTenant) {
    expect_refused(parse_attach_hook_request(R"({"node_id": 1})"), "tenant_shard_id: missing");
    expect_refused(parse_attach_hook_request(R"({"tenant_shard_id": 1, "node_id": 1})"),
                   "tenant_shard_id: expected a tenant shard id string");
    expect_refused(parse_attach_hook_request(R"({"tenant_shard_id": "abc", "node_id": 1})"),
                   "tenant_shard_id: invalid tenant shard id \"abc\"");
}

TEST(AttachHookRequest, RequiresNodeIdToBePresent) {
    expect_refused(parse_attach_hook_request(std::string(R"({"tenant_shard_id": ")") + kTenant + "\"}"),
                   "node_id: missing");
    for (const char* id : {"0", "-3", "\"3\"", "3.5", "false"})
        expect_refused(parse_attach_hook_request(std::string(R"({"tenant_shard_id": ")") + kTenant +
                                                 R"(", "node_id": )" + id + "}"),
                       "node_id: expected an integer");
}

TEST(AttachHookRequest, RefusesAnOverrideNoAttachCanIssue) {
    for (const char* gen : {"0", "-1", "2147483648", "4294967295", "4294967296", "10.0", "\"10\"", "[]"})
        expect_refused(parse_attach_hook_request(std::string(R"({"tenant_shard_id": ")") + kTenant +
                                                 R"(", "node_id": 1, "generation_override": )" + gen + "}"),
                       "generation_override: expected an integer between 1 and 2147483647");
}

// --- inspect -------------------------------------------------------------------------------

TEST(InspectRequest, AcceptsATenantShardId) {
    auto parsed =
        parse_inspect_request(std::string(R"({"tenant_shard_id": ")") + kTenant + R"(-0304", "x": 1})");
    ASSERT_TRUE(parsed.value) << parsed.error.message;
    EXPECT_EQ(parsed.value->tenant.shard_number, 3);
    EXPECT_EQ(parsed.value->tenant.shard_count, 4);
}

TEST(InspectRequest, RefusesABadTenant) {
    expect_refused(parse_inspect_request("{}"), "tenant_shard_id: missing");
    expect_refused(parse_inspect_request(R"({"tenant_shard_id": null})"),
                   "tenant_shard_id: must not be null");
    expect_refused(parse_inspect_request(R"({"tenant_shard_id": ["x"]})"),
                   "tenant_shard_id: expected a tenant shard id");
    expect_refused(parse_inspect_request(std::string(R"({"tenant_shard_id": ")") + kTenant + "-0100\"}"),
                   "tenant_shard_id: invalid tenant shard id");
    expect_refused(parse_inspect_request("[1]"), "the request body must be a JSON object");
}

// --- responses -----------------------------------------------------------------------------

TEST(Responses, ReAttachWritesSecondariesWithNullGeneration) {
    std::string body =
        format_re_attach_response({{kTenant, 7, "AttachedSingle", 2048},
                                   {std::string(kTenant) + "-0102", std::nullopt, "Secondary", 2048}});
    EXPECT_EQ(
        body,
        R"({"tenants":[{"id":"072f1291a5310026820b2fe4b2968934","gen":7,"mode":"AttachedSingle","stripe_size":2048},)"
        R"({"id":"072f1291a5310026820b2fe4b2968934-0102","gen":null,"mode":"Secondary","stripe_size":2048}]})");
    EXPECT_EQ(format_re_attach_response({}), R"({"tenants":[]})");
}

TEST(Responses, ValidateAttachHookInspectAndErrors) {
    EXPECT_EQ(format_validate_response({{kTenant, true}, {kTenant, false}}),
              R"({"tenants":[{"id":"072f1291a5310026820b2fe4b2968934","valid":true},)"
              R"({"id":"072f1291a5310026820b2fe4b2968934","valid":false}]})");
    EXPECT_EQ(format_validate_response({}), R"({"tenants":[]})");
    EXPECT_EQ(format_attach_hook_response(8), R"({"gen":8})");
    EXPECT_EQ(format_attach_hook_response(std::nullopt), R"({"gen":null})");
    EXPECT_EQ(format_inspect_response(std::make_pair(8, std::int64_t{1})), R"({"attachment":[8,1]})");
    EXPECT_EQ(format_inspect_response(std::nullopt), R"({"attachment":null})");
    EXPECT_EQ(format_error("a \"quoted\"\nline"), R"({"msg":"a \"quoted\"\nline"})");
    // Invalid UTF-8 from a request echoed in an error must not make the error itself unwritable.
    EXPECT_NO_THROW(format_error("bad \xff byte"));
}

TEST(Responses, ErrorMessagesForInvalidUtf8InputStayWritable) {
    auto parsed = parse_inspect_request("{\"tenant_shard_id\": \"\xc3\x28\"}");
    ASSERT_FALSE(parsed.value);
    EXPECT_NO_THROW(format_error(parsed.error.message));
}

TEST(Responses, ValidateEscapesAnythingButPlainIds) {
    EXPECT_EQ(format_validate_response({{"a\"b", true}}), R"({"tenants":[{"id":"a\"b","valid":true}]})");
}

TEST(HostileBodies, NestingDeeperThan64IsRefusedWithoutRecursion) {
    std::string deep = std::string(80'000, '[') + "1" + std::string(80'000, ']');
    for (auto parsed_error : {parse_re_attach_request(R"({"node_id": )" + deep + "}").error,
                              parse_validate_request(R"({"tenants": )" + deep + "}").error,
                              parse_validate_request_without_fast_path(R"({"tenants": )" + deep + "}").error,
                              parse_attach_hook_request(R"({"tenant_shard_id": )" + deep + "}").error}) {
        EXPECT_EQ(parsed_error.status, 400);
        EXPECT_EQ(parsed_error.message, "JSON nested deeper than 64 levels");
    }
    // Brackets inside strings are not nesting; exactly 64 levels are accepted.
    EXPECT_TRUE(parse_inspect_request(R"({"tenant_shard_id": "072f1291a5310026820b2fe4b2968934", "x": ")" +
                                      std::string(100, '[') + "\"}")
                    .value);
    std::string at_limit = std::string(63, '[') + std::string(63, ']');
    EXPECT_TRUE(parse_validate_request(R"({"tenants": [], "x": )" + at_limit + "}").value);
    std::string over = std::string(64, '[') + std::string(64, ']');
    EXPECT_FALSE(parse_validate_request(R"({"tenants": [], "x": )" + over + "}").value);
}

TEST(HostileBodies, AMemberNamedTwiceIsRefusedOnEveryRoute) {
    // A proxy or log reader that keeps the first copy would see another request than the one
    // acted on; serde refuses these for Neon's services too.
    const std::string tenant = json_string(kTenant);
    for (auto parsed_error :
         {parse_validate_request(validate_body(R"({"id": )" + tenant + R"(, "gen": 1, "gen": 2})")).error,
          parse_validate_request(R"({"tenants": [], "tenants": [{"id": )" + tenant + R"(, "gen": 1}]})").error,
          parse_attach_hook_request(R"({"tenant_shard_id": )" + tenant + R"(, "node_id": 1, "node_id": 2})").error,
          parse_re_attach_request(R"({"node_id": 2, "register": {"node_id": 2, "node_id": 3}})").error,
          parse_inspect_request(R"({"tenant_shard_id": )" + tenant + R"(, "tenant_shard_id": "x"})").error}) {
        EXPECT_EQ(parsed_error.status, 400);
        EXPECT_EQ(parsed_error.message.rfind("duplicate member ", 0), 0u) << parsed_error.message;
    }
    // Two entries each with their own id and gen are, of course, fine.
    auto two = parse_validate_request(validate_body(entry(tenant, "1") + ", " + entry(tenant, "2")));
    ASSERT_TRUE(two.value);
    EXPECT_EQ(two.value->tenants.size(), 2u);
}

TEST(HostileBodies, NestingLimitHoldsOnTheTreeParsersRoutes) {
    const std::string head = R"({"tenant_shard_id": ")" + std::string(kTenant) + R"(", "x": )";
    EXPECT_TRUE(parse_inspect_request(head + std::string(63, '[') + std::string(63, ']') + "}").value);
    auto over = parse_inspect_request(head + std::string(64, '[') + std::string(64, ']') + "}");
    ASSERT_FALSE(over.value);
    EXPECT_EQ(over.error.message, "JSON nested deeper than 64 levels");
}

TEST(HostileBodies, RefusalsNameContainersInsteadOfPrintingThem) {
    auto parsed = parse_re_attach_request(R"({"node_id": [[[[1]]]]})");
    ASSERT_FALSE(parsed.value);
    EXPECT_EQ(parsed.error.message, "node_id: expected an integer between 1 and 9223372036854775807, got an array");
    parsed = parse_re_attach_request(R"({"node_id": ")" + std::string(200, 'x') + "\"}");
    ASSERT_FALSE(parsed.value);
    EXPECT_LT(parsed.error.message.size(), 200u);
}

TEST(HostileBodies, TooManyValidateEntriesAreCountedFromTheBytes) {
    std::string body = R"({"tenants":[)";
    for (std::size_t i = 0; i <= kMaxValidateEntries; ++i) body += i ? ",0" : "0";
    body += "]}";
    auto parsed = parse_validate_request(body);
    ASSERT_FALSE(parsed.value);
    EXPECT_EQ(parsed.error.status, 413);
    EXPECT_EQ(parsed.error.message, "tenants: at most 1000000 entries per request, got 1000001");
}

TEST(ImportStatus, QueryAndUpdateShapes) {
    auto query = parse_import_status_query(
        R"({"tenant_shard_id": "072F1291a5310026820b2fe4b2968934-0102", "timeline_id": "A1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "generation": 7})");
    ASSERT_TRUE(query.value) << query.error.message;
    EXPECT_EQ(query.value->timeline, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
    EXPECT_EQ(query.value->generation, 7u);
    auto update = parse_import_status_update(
        R"({"tenant_shard_id": "072f1291a5310026820b2fe4b2968934", "timeline_id": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "status": {"InProgress": null}, "generation": 7})");
    ASSERT_TRUE(update.value) << update.error.message;
    EXPECT_EQ(update.value->status, R"({"InProgress":null})");
    EXPECT_EQ(parse_import_status_query(R"({"tenant_shard_id": "072f1291a5310026820b2fe4b2968934", "timeline_id": "a1", "generation": 7})")
                  .error.message.rfind("timeline_id", 0),
              0u);
    EXPECT_EQ(parse_import_status_update(R"({"tenant_shard_id": "072f1291a5310026820b2fe4b2968934", "timeline_id": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "generation": 7, "status": null})")
                  .error.message,
              "status: must not be null");
}

// Unit tests for the strict reading of request bodies (src/serving/json_body.cpp), which the shim
// and gencontrol-node share: duplicate member names, nesting, malformed input.
#include "serving/json_body.hpp"

#include <gtest/gtest.h>

#include <string>

using gencontrol::serving::kMaxJsonDepth;
using gencontrol::serving::parse_json_body;

namespace {

std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
}

}  // namespace

TEST(JsonBody, ReadsOrdinaryBodies) {
    auto body = parse_json_body(R"({"tenants": [{"id": "a", "gen": 1}, {"id": "b", "gen": 2}], "x": null})");
    ASSERT_EQ(body.error, "");
    EXPECT_EQ(body.doc["tenants"][1]["gen"], 2);
    // The same name in sibling objects, and in an object inside an object, is not a duplicate.
    EXPECT_EQ(parse_json_body(R"({"a": {"a": {"a": 1}}, "b": {"a": 2}})").error, "");
    EXPECT_EQ(parse_json_body("[1, 2, 3]").error, "");
}

TEST(JsonBody, RefusesAMemberNamedTwice) {
    for (const char* text : {R"({"gen": 1, "gen": 2})",
                             R"({"tenants": [{"id": "a", "gen": 1, "gen": 2}]})",
                             R"({"register": {"gen": 1, "node_id": 2, "gen": 2}})",
                             R"({"gen": 1, "g\u0065n": 2})"}) {  // the same name once unescaped
        auto body = parse_json_body(text);
        EXPECT_EQ(body.error, R"(duplicate member "gen" in one JSON object)") << text;
        EXPECT_TRUE(body.doc.is_discarded()) << text;
    }
    EXPECT_EQ(parse_json_body(R"({"node_id": 1, "register": {"node_id": 1, "node_id": 1}})").error,
              R"(duplicate member "node_id" in one JSON object)");
}

TEST(JsonBody, ALongDuplicateNameIsShortenedOnACharacterBoundary) {
    std::string name = std::string(56, 'a') + "\xc3\xa9" + std::string(100, 'b');  // é across byte 57
    auto body = parse_json_body("{\"" + name + "\": 1, \"" + name + "\": 2}");
    EXPECT_EQ(body.error, "duplicate member \"" + std::string(56, 'a') + "\"... in one JSON object");
}

TEST(JsonBody, NestingIsBoundedWhileParsing) {
    EXPECT_EQ(parse_json_body(nested_arrays(kMaxJsonDepth)).error, "");
    EXPECT_EQ(parse_json_body(nested_arrays(kMaxJsonDepth + 1)).error, "JSON nested deeper than 64 levels");
    // Objects count as arrays do, and the refusal comes without reading to the end.
    std::string deep_objects;
    for (std::size_t i = 0; i < 100'000; ++i) deep_objects += R"({"a":)";
    EXPECT_EQ(parse_json_body(deep_objects).error, "JSON nested deeper than 64 levels");
    EXPECT_EQ(parse_json_body(nested_arrays(3), 2).error, "JSON nested deeper than 2 levels");
}

TEST(JsonBody, MalformedInputSaysWhere) {
    auto body = parse_json_body(R"({"tenants": [)");
    EXPECT_EQ(body.error.rfind("malformed JSON: parse error at line 1, column 14: syntax error", 0), 0u)
        << body.error;
    EXPECT_TRUE(body.doc.is_discarded());
    EXPECT_EQ(parse_json_body("").error.rfind("malformed JSON: ", 0), 0u);
    EXPECT_EQ(parse_json_body("{} {}").error.rfind("malformed JSON: ", 0), 0u);
}

TEST(JsonBody, AMalformedLongTokenIsNotEchoedWhole) {
    // nlohmann quotes the token it last read; here a megabyte string with a lone surrogate.
    std::string body = R"({"tenants": ")" + std::string(1'000'000, 'A') + R"(\ud800"})";
    auto parsed = parse_json_body(body);
    EXPECT_EQ(parsed.error.rfind("malformed JSON: parse error at line 1, column ", 0), 0u) << parsed.error.substr(0, 300);
    EXPECT_LE(parsed.error.size(), 16u + 200u + 3u);
    EXPECT_EQ(parsed.error.substr(parsed.error.size() - 3), "...");
    // A cut never splits a UTF-8 sequence: the message stays valid UTF-8 for any byte offset.
    for (int pad = 0; pad < 2; ++pad) {
        std::string accents(static_cast<std::size_t>(pad), 'x');
        for (int i = 0; i < 300; ++i) accents += "\xc3\xa9";
        auto cut = parse_json_body(R"({"a": ")" + accents + "\x01\"}");
        ASSERT_EQ(cut.error.rfind("malformed JSON: ", 0), 0u);
        EXPECT_EQ(cut.error.substr(cut.error.size() - 3), "...");
        EXPECT_NO_THROW(nlohmann::json(cut.error).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict))
            << "pad " << pad;
    }
}

// Remote layout: the exact key formats of docs/design.md, the index key parse, the index JSON round
// trip and its refusal of malformed documents, and Neon's backoff figures.
#include <gtest/gtest.h>

#include "gencontrol/index_part.hpp"
#include "gencontrol/remote_layout.hpp"
#include "gencontrol/retry.hpp"

using namespace gencontrol::client;

namespace {
const std::string kTenant = "072f1291a5310026820b2fe4b2968934-0102";
const std::string kTimeline = "de200bd42b49cc1814412c7e592dd6e9";

TEST(RemoteLayout, KeysAreSuffixedWithEightHexDigits) {
    EXPECT_EQ(index_key(kTenant, kTimeline, 10),
              "tenants/" + kTenant + "/timelines/" + kTimeline + "/index_part.json-0000000a");
    EXPECT_EQ(layer_key(kTenant, kTimeline, "delta-1-2", 0x7fffffff),
              "tenants/" + kTenant + "/timelines/" + kTimeline + "/delta-1-2-7fffffff");
    // Before generations (control runs): unsuffixed.
    EXPECT_EQ(index_key(kTenant, kTimeline, kNoGeneration),
              "tenants/" + kTenant + "/timelines/" + kTimeline + "/index_part.json");
    EXPECT_EQ(layer_key(kTenant, kTimeline, "l", kNoGeneration),
              "tenants/" + kTenant + "/timelines/" + kTimeline + "/l");
}

TEST(RemoteLayout, ParsesIndexGenerations) {
    EXPECT_EQ(parse_index_generation("x/index_part.json-0000000a"), 10u);
    EXPECT_EQ(parse_index_generation("x/index_part.json"), kNoGeneration);
    EXPECT_EQ(parse_index_generation("x/index_part.json-0000000A"), std::nullopt);
    EXPECT_EQ(parse_index_generation("x/index_part.json-000000001"), std::nullopt);
    EXPECT_EQ(parse_index_generation("x/index_part.json-00000000"), std::nullopt);
    EXPECT_EQ(parse_index_generation("x/layer-0000000a"), std::nullopt);
}

TEST(RemoteLayout, NamesAndIds) {
    EXPECT_TRUE(is_valid_timeline_id(kTimeline));
    EXPECT_FALSE(is_valid_timeline_id("de200bd42b49cc1814412c7e592dd6e"));
    EXPECT_FALSE(is_valid_layer_name("a/b"));
    EXPECT_FALSE(is_valid_layer_name(""));
    EXPECT_FALSE(is_valid_layer_name("index_part.json"));
    EXPECT_TRUE(is_valid_layer_name("delta-0000000000000001-0000000000000005"));
}

TEST(IndexPart, RoundTripsWithNeonFieldNames) {
    IndexPart index;
    index.disk_consistent_lsn = 42;
    index.layer_metadata["delta-1-42"] = {120, 3, layer_checksum("abc")};
    std::string json = encode_index_part(index);
    EXPECT_NE(json.find("\"layer_metadata\""), std::string::npos);
    EXPECT_NE(json.find("\"disk_consistent_lsn\":42"), std::string::npos);
    EXPECT_NE(json.find("\"file_size\":120"), std::string::npos);
    EXPECT_EQ(decode_index_part(json).value(), index);
    EXPECT_EQ(layer_checksum("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(IndexPart, RefusesMalformedDocuments) {
    for (const char* bad :
         {"", "[]", "{\"version\":1}", "{\"version\":1,\"disk_consistent_lsn\":-1,\"layer_metadata\":{}}",
          "{\"version\":1,\"disk_consistent_lsn\":1,\"layer_metadata\":{\"a\":{\"file_size\":1}}}",
          "{\"version\":1,\"disk_consistent_lsn\":1,\"layer_metadata\":{\"a\":{\"file_size\":1,"
          "\"generation\":4294967295,\"checksum\":\"x\"}}}"}) {
        EXPECT_EQ(decode_index_part(bad).status().code(), Status::Code::kCorruption) << bad;
    }
}

TEST(Backoff, NeonsFigures) {
    EXPECT_EQ(backoff_delay(0).count(), 0.0);
    EXPECT_DOUBLE_EQ(backoff_delay(1).count(), 1.1);
    EXPECT_NEAR(backoff_delay(5).count(), 1.61051, 1e-9);
    EXPECT_EQ(backoff_delay(12).count(), 3.0);  // 1.1^12 = 3.14, capped
    EXPECT_EQ(backoff_delay(1000).count(), 3.0);
}

TEST(Backoff, RetryForeverStopsOnlyOnSuccessOrShutdown) {
    StopSignal stop;
    int attempts = 0;
    Status s = retry_forever([&] { return ++attempts < 5 ? Status::unavailable("no") : Status::ok(); }, stop,
                             {}, 0.0001);
    EXPECT_TRUE(s.is_ok());
    EXPECT_EQ(attempts, 5);
    stop.request();
    EXPECT_EQ(retry_forever([] { return Status::unavailable("no"); }, stop, {}, 0.0001).code(),
              Status::Code::kCancelled);
}

}  // namespace

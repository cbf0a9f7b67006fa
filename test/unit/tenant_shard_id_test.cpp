// Unit tests for the tenant shard id codec in src/common: every accepted and rejected form.
#include "tenant_shard_id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using gencontrol::make_tenant_shard_id;
using gencontrol::parse_tenant_shard_id;
using gencontrol::TenantShardId;

namespace {

constexpr const char* kTenant = "072f1291a5310026820b2fe4b2968934";

TenantShardId parse_ok(std::string_view text) {
    auto result = parse_tenant_shard_id(text);
    EXPECT_TRUE(result.id.has_value()) << text << ": " << result.error;
    return result.id.value_or(TenantShardId{});
}

}  // namespace

TEST(TenantShardIdParse, UnshardedRoundTrips) {
    auto id = parse_ok(kTenant);
    EXPECT_EQ(id.shard_number, 0);
    EXPECT_EQ(id.shard_count, 0);
    EXPECT_EQ(id.tenant[0], 0x07);
    EXPECT_EQ(id.tenant[15], 0x34);
    EXPECT_EQ(id.to_string(), kTenant);
    EXPECT_EQ(id.tenant_hex(), kTenant);
}

TEST(TenantShardIdParse, ShardedRoundTrips) {
    auto id = parse_ok("072f1291a5310026820b2fe4b2968934-0102");
    EXPECT_EQ(id.shard_number, 1);
    EXPECT_EQ(id.shard_count, 2);
    EXPECT_EQ(id.to_string(), "072f1291a5310026820b2fe4b2968934-0102");
    EXPECT_EQ(id.tenant_hex(), kTenant);
}

TEST(TenantShardIdParse, UpperCaseIsAcceptedAndPrintedLower) {
    auto id = parse_ok("072F1291A5310026820B2FE4B2968934-0A10");
    EXPECT_EQ(id.shard_number, 10);
    EXPECT_EQ(id.shard_count, 16);
    EXPECT_EQ(id.to_string(), "072f1291a5310026820b2fe4b2968934-0a10");
}

TEST(TenantShardIdParse, LargestShardCount) {
    auto id = parse_ok("ffffffffffffffffffffffffffffffff-feff");
    EXPECT_EQ(id.shard_number, 254);
    EXPECT_EQ(id.shard_count, 255);
}

TEST(TenantShardIdParse, RejectsMalformed) {
    const std::vector<std::string> bad = {
        "",
        "072f",
        "072f1291a5310026820b2fe4b296893",      // 31 digits
        "072f1291a5310026820b2fe4b29689345",    // 33 digits
        "072f1291a5310026820b2fe4b296893g",     // non-hex
        "072f1291a5310026820b2fe4b2968934-",    // dangling dash
        "072f1291a5310026820b2fe4b2968934-01",  // short suffix
        "072f1291a5310026820b2fe4b2968934-010",
        "072f1291a5310026820b2fe4b2968934_0102",
        "072f1291a5310026820b2fe4b2968934-0202",   // number == count
        "072f1291a5310026820b2fe4b2968934-0302",   // number > count
        "072f1291a5310026820b2fe4b2968934-0000",   // suffix on unsharded
        "072f1291a5310026820b2fe4b2968934-0100",   // number with count 0
        "072f1291a5310026820b2fe4b2968934-01x2",   // non-hex suffix
        "072f1291a5310026820b2fe4b2968934-01023",  // trailing characters
        " 072f1291a5310026820b2fe4b2968934",       // leading space
        "072f1291a5310026820b2fe4b2968934 ",       // trailing space
        "+72f1291a5310026820b2fe4b2968934",
        std::string("072f1291a5310026820b2fe4b2968934\0", 33),
    };
    for (const auto& text : bad) {
        auto result = parse_tenant_shard_id(text);
        EXPECT_FALSE(result.id.has_value()) << "accepted: " << text;
        EXPECT_FALSE(result.error.empty()) << text;
    }
}

TEST(TenantShardIdBytes, RoundTripAndOrder) {
    auto a = parse_ok("00000000000000000000000000000001-0002");
    auto b = parse_ok("00000000000000000000000000000001-0102");
    auto c = parse_ok("00000000000000000000000000000002");
    std::uint8_t bytes[TenantShardId::kSize];
    a.to_bytes(bytes);
    EXPECT_EQ(TenantShardId::from_bytes(bytes), a);
    EXPECT_EQ(bytes[16], 0);
    EXPECT_EQ(bytes[17], 2);

    std::vector<TenantShardId> ids = {c, b, a};
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids[0], a);
    EXPECT_EQ(ids[1], b);
    EXPECT_EQ(ids[2], c);
}

TEST(TenantShardIdMake, ValidatesShardNumbers) {
    EXPECT_TRUE(make_tenant_shard_id(kTenant, 0, 0).id);
    EXPECT_TRUE(make_tenant_shard_id(kTenant, 3, 4).id);
    EXPECT_FALSE(make_tenant_shard_id(kTenant, 4, 4).id);
    EXPECT_FALSE(make_tenant_shard_id(kTenant, 1, 0).id);
    EXPECT_FALSE(make_tenant_shard_id(kTenant, -1, 4).id);
    EXPECT_FALSE(make_tenant_shard_id(kTenant, 0, 256).id);
    EXPECT_FALSE(make_tenant_shard_id("xyz", 0, 0).id);
    EXPECT_EQ(make_tenant_shard_id("072F1291A5310026820B2FE4B2968934", 1, 2).id->to_string(),
              "072f1291a5310026820b2fe4b2968934-0102");
}

// BinaryArray writes what PostgreSQL's array_recv reads: a one-dimensional array without NULLs,
// every integer big-endian. The database-backed tests send these arrays for real; this one pins
// the bytes, so a wrong width or byte order is named here rather than as a refused call.
#include <gtest/gtest.h>

#include <string>

#include "binary_array.hpp"

namespace gencontrol::http {
namespace {

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (int v : values) out.push_back(static_cast<char>(v));
    return out;
}

TEST(BinaryArrayTest, BigintsAreEightBytesEachBigEndianWithTheirSign) {
    auto array = BinaryArray::bigints(2);
    array.add(std::int64_t{0x0102030405060708});
    array.add(std::int64_t{-2});
    std::string expected = bytes({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 2, 0, 0, 0, 1}) +
                           bytes({0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}) +
                           bytes({0, 0, 0, 8, -1, -1, -1, -1, -1, -1, -1, -2});
    EXPECT_EQ(array.take(), expected);
}

TEST(BinaryArrayTest, IntegersAreFourBytesEach) {
    auto array = BinaryArray::integers(1);
    array.add(std::int32_t{-1});
    EXPECT_EQ(array.take(), bytes({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 1, 0, 0, 0, 1}) +
                                bytes({0, 0, 0, 4, -1, -1, -1, -1}));
}

TEST(BinaryArrayTest, TenantShardIdsLeaveTheElementTypeForThePool) {
    auto array = BinaryArray::tenant_shard_ids(1);
    array.add(parse_tenant_shard_id("0102030405060708090a0b0c0d0e0f10-0304").id.value());
    std::string out = array.take();
    EXPECT_TRUE(is_tenant_shard_id_array(out));
    EXPECT_EQ(out.substr(20),
              bytes({0, 0, 0, 18, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 3, 4}));
}

TEST(BinaryArrayTest, ACountOtherThanTheHeaderSaysIsRefused) {
    auto array = BinaryArray::bigints(2);
    array.add(std::int64_t{1});
    EXPECT_THROW(array.take(), std::logic_error);
}

}  // namespace
}  // namespace gencontrol::http

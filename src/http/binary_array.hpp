// PostgreSQL's binary form of a one-dimensional array without NULLs (what array_recv reads), for
// the validate and attach calls' parameters: tenant_shard_id[], integer[] and bigint[], sent
// without any text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tenant_shard_id.hpp"

namespace gencontrol::http {

// Where the element type's OID sits in the array's header (after ndim and the NULL flag).
inline constexpr std::size_t kArrayElementTypeOffset = 8;

// Builds one array of a known length. A tenant_shard_id array is written with element type 0:
// the type's OID differs between databases, so the pool writes its connection's own into it
// before sending (is_tenant_shard_id_array finds those).
class BinaryArray {
public:
    static BinaryArray tenant_shard_ids(std::size_t count);
    static BinaryArray integers(std::size_t count);
    static BinaryArray bigints(std::size_t count);

    void add(const TenantShardId& id);
    void add(std::int32_t value);  // to integers()
    void add(std::int64_t value);  // to bigints()
    // The array; exactly `count` elements must have been added.
    std::string take();

private:
    BinaryArray(std::uint32_t element_type, std::size_t count, std::size_t element_size);
    void put32(std::uint32_t value);

    std::string bytes_;
    std::size_t expected_;
    std::size_t added_ = 0;
};

// True for an array built by BinaryArray::tenant_shard_ids (its element type is still 0).
bool is_tenant_shard_id_array(std::string_view bytes);

}  // namespace gencontrol::http

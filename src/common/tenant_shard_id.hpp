// The tenant shard id codec: Neon's text form and the 18-byte binary layout, in one place.
// Plain C++ with no PostgreSQL headers, shared by the extension, the HTTP shim and the tests.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gencontrol {

// The on-disk and on-wire layout: 16 tenant bytes, then shard number, then shard count.
// Byte-wise comparison of this layout orders by tenant, then number, then count, as Neon does.
struct TenantShardId {
    static constexpr std::size_t kTenantBytes = 16;
    static constexpr std::size_t kSize = kTenantBytes + 2;

    std::array<std::uint8_t, kTenantBytes> tenant{};
    std::uint8_t shard_number = 0;
    std::uint8_t shard_count = 0;

    // The longest text form: 32 hex digits, '-', 4 hex digits.
    static constexpr std::size_t kMaxTextLength = kTenantBytes * 2 + 5;

    // The 32 hex digits of the tenant alone, lower case.
    std::string tenant_hex() const;
    // Writes the text form to out (no terminating NUL) and returns its length; never allocates,
    // so PostgreSQL code can write straight into palloc'd memory.
    std::size_t write_text(char* out) const;
    std::size_t write_tenant_hex(char* out) const;
    // Neon's text form: 32 hex digits, plus "-NNCC" when the tenant is sharded (count > 0).
    std::string to_string() const;

    void to_bytes(std::uint8_t out[kSize]) const;
    static TenantShardId from_bytes(const std::uint8_t in[kSize]);

    friend bool operator==(const TenantShardId&, const TenantShardId&) = default;
    friend auto operator<=>(const TenantShardId&, const TenantShardId&) = default;
};

// Why a text or numeric form was rejected; empty on success.
struct ParseResult {
    std::optional<TenantShardId> id;
    std::string error;  // a sentence fit for an error message, without the input itself
};

// Accepts upper or lower case hex; rejects anything else, including trailing characters.
ParseResult parse_tenant_shard_id(std::string_view text);

// Builds an id from the tenant's hex digits and the shard numbers, as the SQL constructor does.
ParseResult make_tenant_shard_id(std::string_view tenant_hex, long shard_number, long shard_count);

// The rules that every stored id obeys: number < count when count > 0, number 0 when count 0.
// Returns an empty string when valid.
std::string check_shard_numbers(long shard_number, long shard_count);

}  // namespace gencontrol

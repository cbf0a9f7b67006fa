// The tenant shard id codec: parsing and printing Neon's text form, and the binary layout.
// Every other part of gencontrol goes through these functions; none parses ids on its own.
#include "tenant_shard_id.hpp"

#include <array>
#include <cstdint>
#include <cstring>

namespace gencontrol {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Each byte's value as a hex digit, or -1. A table rather than comparisons: random hex digits
// made the comparisons' branches mispredict, and a validate of 128 ids decodes 4,096 digits.
constexpr std::array<std::int8_t, 256> kHexValues = [] {
    std::array<std::int8_t, 256> values{};
    for (auto& v : values) v = -1;
    for (int c = '0'; c <= '9'; ++c) values[c] = static_cast<std::int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) values[c] = static_cast<std::int8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) values[c] = static_cast<std::int8_t>(c - 'A' + 10);
    return values;
}();

// Decodes exactly out_len bytes from 2 * out_len hex digits; false on any non-hex digit.
bool decode_hex(std::string_view hex, std::uint8_t* out, std::size_t out_len) {
    if (hex.size() != out_len * 2) return false;
    int invalid = 0;  // checked once at the end: no branch per digit
    for (std::size_t i = 0; i < out_len; ++i) {
        int hi = kHexValues[static_cast<unsigned char>(hex[2 * i])];
        int lo = kHexValues[static_cast<unsigned char>(hex[2 * i + 1])];
        invalid |= hi | lo;
        out[i] = static_cast<std::uint8_t>((hi & 0xf) << 4 | (lo & 0xf));
    }
    return invalid >= 0;
}

char* put_hex(char* out, std::uint8_t byte) {
    *out++ = kHexDigits[byte >> 4];
    *out++ = kHexDigits[byte & 0xf];
    return out;
}

}  // namespace

std::size_t TenantShardId::write_tenant_hex(char* out) const {
    char* end = out;
    for (auto byte : tenant) end = put_hex(end, byte);
    return static_cast<std::size_t>(end - out);
}

std::size_t TenantShardId::write_text(char* out) const {
    char* end = out + write_tenant_hex(out);
    if (shard_count > 0) {
        *end++ = '-';
        end = put_hex(end, shard_number);
        end = put_hex(end, shard_count);
    }
    return static_cast<std::size_t>(end - out);
}

std::string TenantShardId::tenant_hex() const {
    char buf[kMaxTextLength];
    return std::string(buf, write_tenant_hex(buf));
}

std::string TenantShardId::to_string() const {
    char buf[kMaxTextLength];
    return std::string(buf, write_text(buf));
}

void TenantShardId::to_bytes(std::uint8_t out[kSize]) const {
    std::memcpy(out, tenant.data(), kTenantBytes);
    out[kTenantBytes] = shard_number;
    out[kTenantBytes + 1] = shard_count;
}

TenantShardId TenantShardId::from_bytes(const std::uint8_t in[kSize]) {
    TenantShardId id;
    std::memcpy(id.tenant.data(), in, kTenantBytes);
    id.shard_number = in[kTenantBytes];
    id.shard_count = in[kTenantBytes + 1];
    return id;
}

std::string check_shard_numbers(long shard_number, long shard_count) {
    if (shard_count < 0 || shard_count > 255) return "shard count must be between 0 and 255";
    if (shard_number < 0 || shard_number > 255) return "shard number must be between 0 and 255";
    if (shard_count == 0 && shard_number != 0)
        return "shard number must be 0 for an unsharded tenant (shard count 0)";
    if (shard_count > 0 && shard_number >= shard_count) return "shard number must be less than shard count";
    return {};
}

ParseResult parse_tenant_shard_id(std::string_view text) {
    constexpr std::size_t kHexLen = TenantShardId::kTenantBytes * 2;
    TenantShardId id;
    if (text.size() != kHexLen && text.size() != kHexLen + 5)
        return {std::nullopt, "expected 32 hex digits, optionally followed by -NNCC"};
    if (!decode_hex(text.substr(0, kHexLen), id.tenant.data(), id.tenant.size()))
        return {std::nullopt, "the tenant id must be 32 hex digits"};
    if (text.size() == kHexLen) return {id, {}};

    std::uint8_t shard[2];
    if (text[kHexLen] != '-' || !decode_hex(text.substr(kHexLen + 1), shard, 2))
        return {std::nullopt, "the shard suffix must be '-' and 4 hex digits (number, count)"};
    // Neon never writes a suffix for an unsharded tenant, so "-0000" is not a valid spelling.
    if (shard[1] == 0) return {std::nullopt, "a shard suffix needs a shard count above 0"};
    if (auto why = check_shard_numbers(shard[0], shard[1]); !why.empty()) return {std::nullopt, why};
    id.shard_number = shard[0];
    id.shard_count = shard[1];
    return {id, {}};
}

ParseResult make_tenant_shard_id(std::string_view tenant_hex, long shard_number, long shard_count) {
    TenantShardId id;
    if (!decode_hex(tenant_hex, id.tenant.data(), id.tenant.size()))
        return {std::nullopt, "the tenant id must be 32 hex digits"};
    if (auto why = check_shard_numbers(shard_number, shard_count); !why.empty()) return {std::nullopt, why};
    id.shard_number = static_cast<std::uint8_t>(shard_number);
    id.shard_count = static_cast<std::uint8_t>(shard_count);
    return {id, {}};
}

}  // namespace gencontrol

// The binary array layout: ndim, has-NULLs flag, element type OID, then per dimension its length
// and lower bound, then each element as a 4-byte length and its bytes; every integer big-endian.
#include "binary_array.hpp"

#include <stdexcept>

namespace gencontrol::http {
namespace {

constexpr std::uint32_t kInt4Oid = 23;  // pg_type.h: INT4OID, fixed in every database
constexpr std::uint32_t kInt8Oid = 20;  // INT8OID
constexpr std::size_t kHeaderSize = 20;

std::uint32_t read32(std::string_view bytes, std::size_t at) {
    auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

BinaryArray::BinaryArray(std::uint32_t element_type, std::size_t count, std::size_t element_size)
    : expected_(count) {
    if (count > 0x7fffffff) throw std::length_error("array too long for PostgreSQL");
    bytes_.reserve(kHeaderSize + count * (4 + element_size));
    put32(1);  // one dimension
    put32(0);  // no NULLs
    put32(element_type);
    put32(static_cast<std::uint32_t>(count));
    put32(1);  // lower bound
}

BinaryArray BinaryArray::tenant_shard_ids(std::size_t count) {
    return BinaryArray(0, count, TenantShardId::kSize);
}

BinaryArray BinaryArray::integers(std::size_t count) {
    return BinaryArray(kInt4Oid, count, 4);
}

BinaryArray BinaryArray::bigints(std::size_t count) {
    return BinaryArray(kInt8Oid, count, 8);
}

void BinaryArray::put32(std::uint32_t value) {
    char out[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
                   static_cast<char>(value)};
    bytes_.append(out, 4);
}

void BinaryArray::add(const TenantShardId& id) {
    put32(TenantShardId::kSize);
    std::uint8_t bytes[TenantShardId::kSize];
    id.to_bytes(bytes);
    bytes_.append(reinterpret_cast<const char*>(bytes), TenantShardId::kSize);
    ++added_;
}

void BinaryArray::add(std::int32_t value) {
    put32(4);
    put32(static_cast<std::uint32_t>(value));
    ++added_;
}

void BinaryArray::add(std::int64_t value) {
    put32(8);
    put32(static_cast<std::uint32_t>(static_cast<std::uint64_t>(value) >> 32));
    put32(static_cast<std::uint32_t>(value));
    ++added_;
}

std::string BinaryArray::take() {
    if (added_ != expected_) throw std::logic_error("binary array: element count differs from its header");
    return std::move(bytes_);
}

bool is_tenant_shard_id_array(std::string_view bytes) {
    return bytes.size() >= kHeaderSize && read32(bytes, 0) == 1 && read32(bytes, kArrayElementTypeOffset) == 0;
}

}  // namespace gencontrol::http

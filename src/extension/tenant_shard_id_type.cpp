// The gencontrol.tenant_shard_id type: text and binary I/O, comparison, hashing, sort
// support, casts, accessors and constructor. Parsing itself lives in src/common.
#include "tenant_shard_id_type.hpp"

#include <cstdio>
#include <cstring>

#include "guards.hpp"

using gencontrol::TenantShardId;
using gencontrol::TenantShardIdDatum;
namespace pg = gencontrol::pg;

namespace {

Datum make_datum(const TenantShardId& id) {
    auto* out = static_cast<TenantShardIdDatum*>(palloc(sizeof(TenantShardIdDatum)));
    id.to_bytes(out->bytes);
    return PointerGetDatum(out);
}

// Far longer than any valid id (37 characters), short enough to keep a message small.
constexpr int kQuotedPrefixBytes = 64;

// Quotes input for an error message: at most kQuotedPrefixBytes, cut at a character boundary,
// every byte outside printable ASCII (and the backslash) written as \xNN. The message is then
// valid in every client encoding: a client whose encoding lacks a quoted character would
// otherwise get 22021 instead of the error (finding 7 of issue 9).
std::string quote_input(std::string_view text) {
    auto length = static_cast<int>(text.size());
    int kept = length <= kQuotedPrefixBytes
                   ? length
                   : pg::call([&] { return pg_mbcliplen(text.data(), length, kQuotedPrefixBytes); });
    std::string quoted = "\"";
    for (unsigned char c : text.substr(0, kept)) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            quoted += static_cast<char>(c);
        } else {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
            quoted += escaped;
        }
    }
    quoted += kept < length ? "\"..." : "\"";
    return quoted;
}

// Parses Neon's text form, raising 22P02 with the input quoted when it is malformed.
Datum parse_or_raise(std::string_view text) {
    auto parsed = gencontrol::parse_tenant_shard_id(text);
    if (!parsed.id) {
        pg::raise(ERRCODE_INVALID_TEXT_REPRESENTATION,
                  "invalid input syntax for type tenant_shard_id: " + quote_input(text), parsed.error + ".",
                  "");
    }
    return pg::call([&] { return make_datum(*parsed.id); });
}

int compare(Datum a, Datum b) {
    return std::memcmp(gencontrol::tenant_shard_id_from_datum(a)->bytes,
                       gencontrol::tenant_shard_id_from_datum(b)->bytes, TenantShardId::kSize);
}

int compare_for_sort(Datum a, Datum b, SortSupport) {
    int c = compare(a, b);
    return (c > 0) - (c < 0);
}

// Builds a text datum in palloc'd memory without any C++ allocation.
template <class Write>
text* palloc_text(Write write) {
    text* out = static_cast<text*>(palloc(VARHDRSZ + TenantShardId::kMaxTextLength));
    std::size_t len = write(VARDATA(out));
    SET_VARSIZE(out, VARHDRSZ + len);
    return out;
}

}  // namespace

GENCONTROL_FUNCTION(tenant_shard_id_in) {
    return parse_or_raise(PG_GETARG_CSTRING(0));
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_out) {
    auto id = gencontrol::to_tenant_shard_id(PG_GETARG_DATUM(0));
    char* out = static_cast<char*>(palloc(TenantShardId::kMaxTextLength + 1));
    out[id.write_text(out)] = '\0';
    PG_RETURN_CSTRING(out);
}

GENCONTROL_FUNCTION(tenant_shard_id_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    auto* out = pg::call([&] {
        auto* bytes = static_cast<TenantShardIdDatum*>(palloc(sizeof(TenantShardIdDatum)));
        pq_copymsgbytes(buf, reinterpret_cast<char*>(bytes->bytes), TenantShardId::kSize);
        return bytes;
    });
    // The binary form must obey the same shard rules as the text form.
    auto id = TenantShardId::from_bytes(out->bytes);
    std::string why = gencontrol::check_shard_numbers(id.shard_number, id.shard_count);
    if (!why.empty())
        pg::raise(ERRCODE_INVALID_BINARY_REPRESENTATION, "invalid binary tenant_shard_id: " + why);
    return PointerGetDatum(out);
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_send) {
    const auto* id = gencontrol::tenant_shard_id_from_datum(PG_GETARG_DATUM(0));
    StringInfoData buf;
    pq_begintypsend(&buf);
    pq_sendbytes(&buf, reinterpret_cast<const char*>(id->bytes), TenantShardId::kSize);
    PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_cmp) {
    int c = compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
    PG_RETURN_INT32((c > 0) - (c < 0));
}
GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_eq) {
    PG_RETURN_BOOL(compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) == 0);
}
GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_ne) {
    PG_RETURN_BOOL(compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) != 0);
}
GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_lt) {
    PG_RETURN_BOOL(compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) < 0);
}
GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_le) {
    PG_RETURN_BOOL(compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) <= 0);
}
GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_gt) {
    PG_RETURN_BOOL(compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) > 0);
}
GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_ge) {
    PG_RETURN_BOOL(compare(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1)) >= 0);
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_hash) {
    const auto* id = gencontrol::tenant_shard_id_from_datum(PG_GETARG_DATUM(0));
    return hash_any(id->bytes, TenantShardId::kSize);
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_hash_extended) {
    const auto* id = gencontrol::tenant_shard_id_from_datum(PG_GETARG_DATUM(0));
    return hash_any_extended(id->bytes, TenantShardId::kSize, PG_GETARG_INT64(1));
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_sortsupport) {
    auto* ssup = reinterpret_cast<SortSupport>(PG_GETARG_POINTER(0));
    ssup->comparator = compare_for_sort;
    PG_RETURN_VOID();
}

GENCONTROL_FUNCTION(tenant_shard_id_from_text) {
    text* input = pg::call([&] { return PG_GETARG_TEXT_PP(0); });
    return parse_or_raise(std::string_view(VARDATA_ANY(input), VARSIZE_ANY_EXHDR(input)));
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_shard_id_to_text) {
    auto id = gencontrol::to_tenant_shard_id(PG_GETARG_DATUM(0));
    PG_RETURN_TEXT_P(palloc_text([&](char* out) { return id.write_text(out); }));
}

GENCONTROL_UNGUARDED_FUNCTION(tenant_hex) {
    auto id = gencontrol::to_tenant_shard_id(PG_GETARG_DATUM(0));
    PG_RETURN_TEXT_P(palloc_text([&](char* out) { return id.write_tenant_hex(out); }));
}

GENCONTROL_UNGUARDED_FUNCTION(shard_number) {
    PG_RETURN_INT32(gencontrol::to_tenant_shard_id(PG_GETARG_DATUM(0)).shard_number);
}

GENCONTROL_UNGUARDED_FUNCTION(shard_count) {
    PG_RETURN_INT32(gencontrol::to_tenant_shard_id(PG_GETARG_DATUM(0)).shard_count);
}

GENCONTROL_FUNCTION(tenant_shard) {
    text* hex = pg::call([&] { return PG_GETARG_TEXT_PP(0); });
    std::string_view view(VARDATA_ANY(hex), VARSIZE_ANY_EXHDR(hex));
    long number = PG_GETARG_INT32(1);
    long count = PG_GETARG_INT32(2);
    auto made = gencontrol::make_tenant_shard_id(view, number, count);
    if (!made.id) {
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                  "invalid tenant shard: " + quote_input(view) + " shard " + std::to_string(number) + " of " +
                      std::to_string(count),
                  made.error + ".");
    }
    return pg::call([&] { return make_datum(*made.id); });
}

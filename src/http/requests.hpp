// The shim's requests and verdicts as typed values: what a route gets from a parsed body and
// what it hands to the formatter. No wire format and no database here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tenant_shard_id.hpp"

namespace gencontrol::http {

// Far above what a pageserver sends (chunks of 128), yet it bounds the SQL arrays one request
// builds.
inline constexpr std::size_t kMaxValidateEntries = 1'000'000;

// Why a body was refused: 400 for malformed or mistyped input, 413 for too many entries.
// The message starts with the field it is about, e.g. "tenants[3].gen: ...".
struct RequestError {
    int status = 400;
    std::string message;
};

template <class T>
struct Parsed {
    std::optional<T> value;
    RequestError error;  // meaningful only when value is empty
};

// The `register` payload of a re-attach: a node's addresses, upserted before the re-attach.
struct NodeRegistration {
    std::int64_t node_id = 0;
    std::string listen_pg_addr;
    std::int32_t listen_pg_port = 0;
    std::string listen_http_addr;
    std::int32_t listen_http_port = 0;
    std::optional<std::string> availability_zone_id;
    // Neon sends these as null when unset; node_register keeps them (1.1).
    std::optional<std::int32_t> listen_https_port;
    std::optional<std::string> listen_grpc_addr;
    std::optional<std::int32_t> listen_grpc_port;
    std::optional<std::string> node_ip_addr;
};

struct ReAttachRequest {
    std::int64_t node_id = 0;
    std::optional<NodeRegistration> registration;
    bool empty_local_disk = false;
};

// A generation as it arrives on the wire: any u32, including values no attach can have issued.
struct ValidateEntry {
    TenantShardId id;
    std::uint32_t generation = 0;
};

struct ValidateRequest {
    std::vector<ValidateEntry> tenants;
};

struct AttachHookRequest {
    TenantShardId tenant;
    std::optional<std::int64_t> node_id;  // empty: detach
    std::optional<std::int32_t> generation_override;
};

struct InspectRequest {
    TenantShardId tenant;
};

// GET /upcall/v1/timeline_import_status: the status of one shard's import, fenced by generation.
struct ImportStatusQuery {
    TenantShardId tenant;
    std::string timeline;  // 32 hex digits, lower case
    std::uint32_t generation = 0;
};

// POST /upcall/v1/timeline_import_status: the shard's new status, as Neon's JSON text.
struct ImportStatusUpdate {
    ImportStatusQuery where;
    std::string status;  // ShardImportStatus JSON, re-serialized compactly
};

// One row of a re-attach answer; secondaries carry no generation.
struct ReAttachTenant {
    std::string id;
    std::optional<std::int64_t> generation;
    std::string mode;
    std::optional<std::int64_t> stripe_size;
};

struct ValidateResult {
    std::string id;
    bool valid = false;
};

// One answered entry of a validate request: its position in the request and its verdict.
struct ValidateVerdict {
    std::size_t entry = 0;
    bool valid = false;
};

}  // namespace gencontrol::http

// The shim's wire format: request bodies parsed and checked into typed structs, responses
// formatted. Pure functions with no server or database underneath, so unit tests and the fuzzer
// call them directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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

Parsed<ReAttachRequest> parse_re_attach_request(std::string_view body);
Parsed<ValidateRequest> parse_validate_request(std::string_view body);
// The same answer by the document-tree parser alone, which parse_validate_request falls back to
// for anything but the plain shape; for tests that compare the two.
Parsed<ValidateRequest> parse_validate_request_without_fast_path(std::string_view body);
Parsed<AttachHookRequest> parse_attach_hook_request(std::string_view body);
Parsed<InspectRequest> parse_inspect_request(std::string_view body);

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

std::string format_re_attach_response(const std::vector<ReAttachTenant>& tenants);
std::string format_validate_response(const std::vector<ValidateResult>& tenants);
// The same answer for verdicts over a request's entries, each id in its canonical text form.
std::string format_validate_response(const std::vector<ValidateEntry>& entries,
                                     const std::vector<ValidateVerdict>& verdicts);
std::string format_attach_hook_response(std::optional<std::int32_t> generation);
// attachment: (generation, node), empty when the shard is unknown or not attached.
std::string format_inspect_response(std::optional<std::pair<std::int32_t, std::int64_t>> attachment);
std::string format_error(std::string_view message);

}  // namespace gencontrol::http

// The shim's wire format: request bodies parsed and checked into the types of requests.hpp, responses
// formatted. Pure functions with no server or database underneath, so unit tests and the fuzzer
// call them directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "requests.hpp"
#include "serving/json_body.hpp"

namespace gencontrol::http {

Parsed<ReAttachRequest> parse_re_attach_request(std::string_view body);
Parsed<ValidateRequest> parse_validate_request(std::string_view body);
// The same answer by the document-tree parser alone, which parse_validate_request falls back to
// for anything but the plain shape; for tests that compare the two.
Parsed<ValidateRequest> parse_validate_request_without_fast_path(std::string_view body);
Parsed<AttachHookRequest> parse_attach_hook_request(std::string_view body);
Parsed<InspectRequest> parse_inspect_request(std::string_view body);
Parsed<ImportStatusQuery> parse_import_status_query(std::string_view body);
Parsed<ImportStatusUpdate> parse_import_status_update(std::string_view body);

// JSON nesting a request body may have: deeper is refused (serving/json_body.hpp, shared with
// gencontrol-node); a validate body's depth is also checked from its bytes before the fast path.
inline constexpr std::size_t kMaxJsonDepth = serving::kMaxJsonDepth;

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

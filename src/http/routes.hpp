// The shim's route handlers: each parses its body, calls one gencontrol function, and formats the
// answer. They know nothing of HTTP plumbing; database failures leave them as DbError.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics.hpp"
#include "pool.hpp"
#include "validate_batch.hpp"

namespace gencontrol::http {

struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
};

Reply json_reply(int status, std::string body);
Reply error_reply(int status, std::string_view message);

struct RouteContext {
    Pool& pool;
    Metrics& metrics;
    ValidateBatcher& validate;
    std::string_view body;
};

// upcall_routes.cpp: what pageservers call.
Reply re_attach_route(RouteContext& context);
Reply validate_route(RouteContext& context);

// debug_routes.cpp: what Neon's test fixtures and operators call.
Reply attach_hook_route(RouteContext& context);
Reply inspect_route(RouteContext& context);

// health_routes.cpp: what load balancers and Prometheus call.
Reply status_route(RouteContext& context);
Reply ready_route(RouteContext& context);
Reply metrics_route(RouteContext& context);

// Parses a decimal column the database produced; throws on anything else (a 500: it cannot happen).
std::int64_t db_integer(const DbValue& value);

}  // namespace gencontrol::http

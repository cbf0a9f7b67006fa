// The routes for load balancers and monitoring: /status and /live (the process is up and serving),
// /ready (the database answers and takes writes) and /metrics. None needs a token.
#pragma once

#include "replies.hpp"
#include "route_context.hpp"

namespace gencontrol::http {

Reply status_route(RouteContext& context);
Reply live_route(RouteContext& context);
Reply ready_route(RouteContext& context);
Reply metrics_route(RouteContext& context);

}  // namespace gencontrol::http

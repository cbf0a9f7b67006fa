// (1.1) Timeline imports: a pageserver reads and reports the import status of its shard, fenced by
// its generation so a stale node never reads or overwrites a newer node's progress.
#pragma once

#include "replies.hpp"
#include "route_context.hpp"

namespace gencontrol::http {

// GET and POST /upcall/v1/timeline_import_status (Neon sends a JSON body on the GET too).
Reply import_status_route(RouteContext& context);

}  // namespace gencontrol::http

// The debug routes Neon's test fixtures use in place of a storage controller: attach-hook
// (attach, or detach with node_id null) and inspect. Both need the admin scope.
#pragma once

#include "replies.hpp"
#include "route_context.hpp"

namespace gencontrol::http {

Reply attach_hook_route(RouteContext& context);
// On the event loop: parses the body and starts the call there (AsyncCalls); false when it must
// run on a worker instead (no free open connection, a large body).
bool take_attach_hook(RouteContext& context, const Answer& answer);
Reply inspect_route(RouteContext& context);

}  // namespace gencontrol::http

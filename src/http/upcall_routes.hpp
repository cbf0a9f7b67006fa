// The upcalls a pageserver makes: re-attach when it starts, validate before it deletes anything.
#pragma once

#include "replies.hpp"
#include "route_context.hpp"

namespace gencontrol::http {

Reply re_attach_route(RouteContext& context);
Reply validate_route(RouteContext& context);
// Validate without a thread, on the event loop: parses a body of up to 64 KiB (a pageserver's
// chunk of 128 is about 8 KiB), queues it for a shared call and returns true; `answer` runs when
// that call ends. False for a larger body, which validate_route parses on a worker instead.
bool take_validate(RouteContext& context, const Answer& answer);

}  // namespace gencontrol::http

// The upcalls a pageserver makes: re-attach when it starts, validate before it deletes anything.
#pragma once

#include "replies.hpp"
#include "route_context.hpp"

namespace gencontrol::http {

Reply re_attach_route(RouteContext& context);
Reply validate_route(RouteContext& context);

}  // namespace gencontrol::http

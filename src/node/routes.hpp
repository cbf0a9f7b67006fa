// gencontrol-node's management API (docs/design.md): plain functions from a request to a reply, so
// they run under the shared serving core and in unit tests alike.
#pragma once

#include "node.hpp"
#include "serving/server.hpp"

namespace gencontrol::node {

// Every route; 503 with Retry-After for tenant routes until the node's start-up finished.
serving::Reply handle(Node& node, const serving::Request& request);

}  // namespace gencontrol::node

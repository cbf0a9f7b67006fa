// What a route handler gets: the request body, the token's claims, and the shared pieces it may
// call (pool, event-loop calls, validate and attach batchers, metrics). Routes know nothing of HTTP
// plumbing.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "async_calls.hpp"
#include "attach_batch.hpp"
#include "auth.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "serving/server.hpp"
#include "validate_batch.hpp"

namespace gencontrol::http {

struct RouteContext {
    Pool& pool;
    Metrics& metrics;
    ValidateBatcher& validate;
    std::string_view body;
    std::string_view method;              // GET or POST for routes that take both
    std::optional<TokenClaims> claims;    // empty when auth is off
    AsyncCalls* calls = nullptr;          // calls from the event loop; null: routes use the pool only
    AttachBatcher* attach = nullptr;      // attach-hook's coalescing on the event loop; null with calls
};

// How a route that took its request over (without a thread) answers: with a function that makes
// the reply or throws, run by the router under the same failure mapping as a route's own call.
using Answer = std::function<void(const std::function<serving::Reply()>& reply)>;

}  // namespace gencontrol::http

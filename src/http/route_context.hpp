// What a route handler gets: the request body, the token's claims, and the shared pieces it may
// call (pool, validate batcher, metrics). Routes know nothing of HTTP plumbing.
#pragma once

#include <optional>
#include <string_view>

#include "auth.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "validate_batch.hpp"

namespace gencontrol::http {

struct RouteContext {
    Pool& pool;
    Metrics& metrics;
    ValidateBatcher& validate;
    std::string_view body;
    std::string_view method;              // GET or POST for routes that take both
    std::optional<TokenClaims> claims;    // empty when auth is off
};

}  // namespace gencontrol::http

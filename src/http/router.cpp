// Which method and scope each path needs, checked in the head phase so that an unauthenticated
// or misrouted body is never read, and how a route's failures become statuses.
#include "router.hpp"

#include <fmt/format.h>

#include <any>
#include <variant>
#include <ctime>

#include "debug_routes.hpp"
#include "health_routes.hpp"
#include "import_routes.hpp"
#include "serving/log.hpp"
#include "serving/text.hpp"
#include "upcall_routes.hpp"

namespace gencontrol::http {
namespace log = serving::log;
namespace {

struct Route {
    std::string_view method;
    std::string_view path;
    Access access;
    Reply (*handler)(RouteContext&);
    bool (*take)(RouteContext&, const Answer&) = nullptr;  // the route can also answer without a thread
};

// Every route the shim serves; docs/http-api.yaml describes the same list.
constexpr Route kRoutes[] = {
    {"POST", "/upcall/v1/re-attach", Access::generations_api, re_attach_route},
    {"POST", "/upcall/v1/validate", Access::generations_api, validate_route, take_validate},
    {"GET", "/upcall/v1/timeline_import_status", Access::generations_api, import_status_route},
    {"POST", "/upcall/v1/timeline_import_status", Access::generations_api, import_status_route},
    {"POST", "/debug/v1/attach-hook", Access::admin, attach_hook_route, take_attach_hook},
    {"POST", "/debug/v1/inspect", Access::admin, inspect_route},
    {"GET", "/status", Access::open, status_route},
    {"GET", "/live", Access::open, live_route},
    {"GET", "/ready", Access::open, ready_route},
    {"GET", "/metrics", Access::open, metrics_route},
};

// What the head phase learnt, for handle().
struct Admitted {
    const Route* route = nullptr;
    std::optional<TokenClaims> claims;
};

// The route and token check of one request: an admitted route, or the refusal.
std::variant<Admitted, Reply> admit(const serving::Request& request, const JwtVerifier& verifier) {
    // HEAD is GET without a body; the core leaves the body out of the answer.
    std::string_view method = request.method == "HEAD" ? std::string_view("GET") : request.method;
    const Route* match = nullptr;
    std::string allowed;
    for (const auto& route : kRoutes) {
        if (route.path != request.path) continue;
        if (!allowed.empty()) allowed += ", ";
        allowed += route.method;
        if (route.method == method) match = &route;
    }
    if (allowed.empty()) return error_reply(404, fmt::format("no route for {}", serving::shortened(request.path, 120)));
    if (!match) {
        Reply reply = error_reply(405, fmt::format("{} does not accept {}", request.path, serving::shortened(request.method, 120)));
        reply.headers.emplace_back("Allow", allowed);
        return reply;
    }
    auto authorization = request.header ? request.header("Authorization") : std::nullopt;
    AuthDecision auth = verifier.authorize(authorization.value_or(""), match->access, std::time(nullptr));
    if (auth.status == 401) {
        Reply reply = error_reply(401, "Unauthorized: " + auth.message);
        reply.headers.emplace_back("WWW-Authenticate", "Bearer");
        return reply;
    }
    if (auth.status != 200) return error_reply(auth.status, "Forbidden: " + auth.message);
    return Admitted{match, std::move(auth.claims)};
}

}  // namespace

Router::Router(Pool& pool, const KeyRing& keys, Metrics& metrics, ValidateBatcher& validate,
               int timeout_seconds)
    : pool_(pool), keys_(keys), metrics_(metrics), validate_(validate), timeout_seconds_(timeout_seconds) {}

std::string_view Router::route_label(std::string_view path) {
    for (const auto& route : kRoutes)
        if (route.path == path) return route.path;
    return "unmatched";
}

std::optional<Reply> Router::head(serving::Request& request) const {
    auto admitted = admit(request, *keys_.current());
    if (auto* reply = std::get_if<Reply>(&admitted)) return std::move(*reply);
    request.state = std::get<Admitted>(std::move(admitted));
    return std::nullopt;
}

Reply Router::handle(const serving::Request& request) const {
    Admitted admitted;
    if (const auto* from_head = std::any_cast<Admitted>(&request.state)) {
        admitted = *from_head;
    } else {
        auto checked = admit(request, *keys_.current());
        if (auto* reply = std::get_if<Reply>(&checked)) return std::move(*reply);
        admitted = std::get<Admitted>(std::move(checked));
    }
    const Route& route = *admitted.route;
    std::string_view method = request.method == "HEAD" ? std::string_view("GET") : request.method;
    RouteContext context{pool_, metrics_, validate_, request.body, method, admitted.claims, calls_, attach_};
    return guarded(route.path, [&] { return route.handler(context); });
}

bool Router::take(const serving::Request& request, const serving::Respond& respond) const {
    const auto* admitted = std::any_cast<Admitted>(&request.state);
    if (!admitted || !admitted->route->take) return false;
    const Route& route = *admitted->route;
    RouteContext context{pool_, metrics_, validate_, request.body, request.method, admitted->claims, calls_, attach_};
    return route.take(context, [this, &route, respond](const std::function<Reply()>& reply) {
        respond(guarded(route.path, reply));
    });
}

Reply Router::guarded(std::string_view route, const std::function<Reply()>& run) const {
    try {
        return run();
    } catch (const DbError& e) {
        Reply reply = db_error_reply(e, timeout_seconds_);
        if (reply.status == 500)
            log::error("database call failed", {{"route", route}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
        return reply;
    } catch (const std::exception& e) {
        log::error("request failed", {{"route", route}, {"error", e.what()}});
        Reply reply = error_reply(500, "internal error");
        reply.log_message = e.what();
        return reply;
    }
}

void Router::observe(const serving::Request& request, const Reply& reply,
                     std::chrono::steady_clock::duration elapsed) const {
    metrics_.observe_request(route_label(request.path), request.method, reply.status,
                             std::chrono::duration<double>(elapsed).count());
}

}  // namespace gencontrol::http

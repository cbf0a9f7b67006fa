// The shim's route table and the two phases the serving core calls: `head` (route, method and
// token, before any body byte is read) and `handle` (the route's database work), plus metrics.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "async_calls.hpp"
#include "attach_batch.hpp"
#include "auth.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "replies.hpp"
#include "serving/server.hpp"
#include "validate_batch.hpp"

namespace gencontrol::http {

class Router {
public:
    Router(Pool& pool, const KeyRing& keys, Metrics& metrics, ValidateBatcher& validate, int timeout_seconds);
    // From then on, take() runs attach-hook's database calls on the event loop, through `attach`
    // (the serving core's loop exists only once the server does, after the router).
    void use_async_calls(AsyncCalls& calls, AttachBatcher& attach) {
        calls_ = &calls;
        attach_ = &attach;
    }

    // 404, 405, 401, 403 without reading the body; nullopt lets the request go on to handle().
    std::optional<Reply> head(serving::Request& request) const;
    // Runs the route (checking the head again when head() was not called) and maps failures.
    Reply handle(const serving::Request& request) const;
    // On the event loop, after head(): takes over the requests of routes that can wait without a
    // thread (validate, attach-hook); false lets handle() run on a worker.
    bool take(const serving::Request& request, const serving::Respond& respond) const;
    void observe(const serving::Request& request, const Reply& reply,
                 std::chrono::steady_clock::duration elapsed) const;

    // The metrics label for a path: the route's own path, or "unmatched".
    static std::string_view route_label(std::string_view path);

private:
    // The route's reply, with its failures mapped to statuses (and logged).
    Reply guarded(std::string_view route, const std::function<Reply()>& run) const;

    Pool& pool_;
    const KeyRing& keys_;
    Metrics& metrics_;
    ValidateBatcher& validate_;
    int timeout_seconds_;
    AsyncCalls* calls_ = nullptr;
    AttachBatcher* attach_ = nullptr;
};

}  // namespace gencontrol::http

// Attach-hook requests that arrive while the database is busy with others share one statement,
// and so one transaction and one commit: the commit, the transaction's start and the round trip
// are most of what a single-shard attach costs the database (bench/ANALYSIS.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>

#include "async_calls.hpp"
#include "metrics.hpp"
#include "tenant_shard_id.hpp"

namespace boost::asio {
class io_context;
}

namespace gencontrol::http {

class AttachBatcher {
public:
    // The generation gen_attach returned, or the error the request's own call would have thrown.
    using Done = std::function<void(std::int32_t generation, std::exception_ptr error)>;

    // Everything runs on `loop`, the serving core's event loop. Requests that arrive while an
    // attach call is in flight wait, and go together in the next call, up to `max_requests` of
    // them. Another call starts alongside only for `max_requests` waiting requests, or when every
    // call in flight has run for `stalled` (a row lock held elsewhere must not hold up every other
    // attach); never more than `max_calls` at once.
    AttachBatcher(boost::asio::io_context& loop, AsyncCalls& calls, Metrics& metrics, int max_calls,
                  std::size_t max_requests = 64,
                  std::chrono::steady_clock::duration stalled = std::chrono::milliseconds(10));
    AttachBatcher(const AttachBatcher&) = delete;
    AttachBatcher& operator=(const AttachBatcher&) = delete;

    // On the event loop only. gen_attach(tenant, node); `done` runs once, on the loop, after the
    // transaction that carried this attach committed (or failed).
    //
    // A call carries each shard at most once, in key order, so two calls never wait for each
    // other's rows in opposite orders. When a shared call fails, nothing of it was applied (one
    // transaction), and each of its requests is tried again alone, so a refusal (an unknown node,
    // a deleted one, a shard whose generations are used up, a deadlock) is answered to the
    // request it belongs to and the others are applied as if it had never been sent. So is a
    // call with no answer in time (a shard's row locked elsewhere). A failure of the database
    // itself (unreachable, a standby, no extension) is every request's answer.
    void submit(const TenantShardId& tenant, std::int64_t node, Done done);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace gencontrol::http

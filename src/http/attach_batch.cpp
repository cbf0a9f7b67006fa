// Coalescing of concurrent attach-hook requests on the event loop: a request goes out at once,
// alone, when no attach call is in flight; otherwise it waits, and when the call ends every
// waiting request (one per shard) goes out in one gen_attach statement over two arrays. One call
// at a time makes the fewest, largest transactions; a second starts only for a full call or when
// the one in flight has stalled. No thread waits per request; a call that cannot start without
// waiting (no free open connection) waits on AsyncCalls' retry thread (AsyncCalls::call_or_wait).
#include "attach_batch.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "binary_array.hpp"
#include "replies.hpp"

namespace gencontrol::http {
namespace asio = boost::asio;

namespace {

struct Request {
    TenantShardId tenant;  // its order (tenant, number, count) is the key order of the btree
    std::int64_t node;
    AttachBatcher::Done done;
    bool alone = false;  // its shared call failed: it goes in a call of its own
};

using Batch = std::vector<Request>;
using Clock = std::chrono::steady_clock;

// How far down the queue a call looks for requests to take along (a request for a shard already
// in the call stays for the next one).
constexpr std::size_t kLookAhead = 4;

std::string bad_answer(const std::string& what) {
    return "gen_attach answered " + what;
}

}  // namespace

struct AttachBatcher::Impl : std::enable_shared_from_this<AttachBatcher::Impl> {
    Impl(asio::io_context& l, AsyncCalls& c, Metrics& m, int calls_at_once, std::size_t requests,
         Clock::duration stalled_after)
        : loop(l),
          calls(c),
          metrics(m),
          max_calls(calls_at_once < 1 ? 1 : calls_at_once),
          max_requests(requests < 1 ? 1 : requests),
          stalled(stalled_after),
          timer(l) {}

    // The oldest waiting request, and every later one (up to max_requests) for another shard.
    Batch take() {
        Batch batch;
        batch.push_back(std::move(waiting.front()));
        waiting.pop_front();
        if (batch.front().alone) return batch;
        std::vector<Request> rest;  // skipped: they stay in front, in their order
        std::size_t looked = 0;
        while (!waiting.empty() && batch.size() < max_requests && looked < kLookAhead * max_requests) {
            Request next = std::move(waiting.front());
            waiting.pop_front();
            ++looked;
            bool repeated = std::any_of(batch.begin(), batch.end(),
                                        [&](const Request& r) { return r.tenant == next.tenant; });
            if (next.alone || repeated)
                rest.push_back(std::move(next));
            else
                batch.push_back(std::move(next));
        }
        for (auto it = rest.rbegin(); it != rest.rend(); ++it) waiting.push_front(std::move(*it));
        return batch;
    }

    // The statement of a call: gen_attach alone, or over the requests' arrays in key order.
    static std::pair<Statement, std::vector<DbValue>> statement_of(Batch& batch) {
        if (batch.size() == 1)
            return {Statement::attach,
                    {batch[0].tenant.to_string(), std::to_string(batch[0].node), DbValue{}}};
        std::sort(batch.begin(), batch.end(),
                  [](const Request& a, const Request& b) { return a.tenant < b.tenant; });
        auto ids = BinaryArray::tenant_shard_ids(batch.size());
        auto nodes = BinaryArray::bigints(batch.size());
        for (const Request& r : batch) {
            ids.add(r.tenant);
            nodes.add(r.node);
        }
        return {Statement::attach_many, {ids.take(), nodes.take()}};
    }

    // Whether another call may start now: none is in flight, a full call is waiting, or every call
    // in flight has run for `stalled` (one may be waiting for a row lock; the others must not
    // wait with it). Otherwise the waiting requests go with the next call to start.
    bool may_start(Clock::time_point now) const {
        if (in_flight == 0) return true;
        if (in_flight >= max_calls) return false;
        return waiting.size() >= max_requests || now - last_start >= stalled;
    }

    void pump() {
        auto now = Clock::now();
        while (!waiting.empty() && may_start(now)) {
            auto batch = std::make_shared<Batch>(take());
            auto [statement, params] = statement_of(*batch);
            auto self = shared_from_this();
            AsyncCalls::Done done = [self, batch](DbRows rows, std::exception_ptr error) {
                // On the loop, or on AsyncCalls' retry thread; posted either way, so that no
                // answer runs inside pump().
                asio::post(self->loop, [self, batch, rows = std::move(rows), error]() mutable {
                    if (self->blocking == batch.get()) self->blocking = nullptr;
                    --self->in_flight;
                    self->answer(*batch, rows, error);
                });
            };
            // One call at a time may wait for a connection on the retry thread; while it does,
            // a call that cannot go out on the loop waits in the queue, and its end pumps again.
            bool on_loop = blocking ? calls.call(statement, params, done)
                                    : calls.call_or_wait(statement, params, done);
            if (!on_loop && blocking) {
                for (auto it = batch->rbegin(); it != batch->rend(); ++it) waiting.push_front(std::move(*it));
                return;
            }
            if (!on_loop) blocking = batch.get();
            ++in_flight;
            last_start = now;
            metrics.count_attach_call(batch->size());
        }
        // Requests wait for a call to end; if none ends within `stalled`, the timer starts another.
        if (!waiting.empty() && in_flight > 0 && in_flight < max_calls && !timer_armed) {
            timer_armed = true;
            timer.expires_at(last_start + stalled);
            timer.async_wait([self = shared_from_this()](const boost::system::error_code&) {
                self->timer_armed = false;
                self->pump();
            });
        }
    }

    // Whether one of the shared call's requests may be the cause of its failure, so that the
    // others would succeed alone: a refusal by the database (an SQLSTATE), or no answer in time
    // (one shard's row locked elsewhere holds up the whole call; statement_timeout, which the pool
    // sets to the same limit, has rolled the call back). The database itself being unreachable, a
    // standby or without the extension is every request's answer.
    static bool one_may_be_the_cause(const std::exception_ptr& error) {
        try {
            std::rethrow_exception(error);
        } catch (const DbError& e) {
            return e.kind() == DbErrorKind::query || e.kind() == DbErrorKind::timeout;
        } catch (...) {
            return false;
        }
    }

    static void tell(Request& request, std::int32_t generation, std::exception_ptr error) {
        try {
            request.done(generation, error);
        } catch (...) {
            // A callback only formats and hands the reply over; nothing it throws is ours.
        }
    }

    void answer(Batch& batch, const DbRows& rows, std::exception_ptr error) {
        if (error && batch.size() > 1 && one_may_be_the_cause(error)) {
            // Nothing of the call was applied (or, after a timeout, may have been: an attach applied
            // twice only hands out one more generation): each request goes again, alone, before
            // newer ones.
            for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
                it->alone = true;
                waiting.push_front(std::move(*it));
            }
        } else if (error) {
            for (Request& r : batch) tell(r, 0, error);
        } else if (batch.size() == 1) {
            std::exception_ptr bad;
            std::int32_t generation = 0;
            try {
                generation = static_cast<std::int32_t>(db_integer(rows.at(0).at(0)));
            } catch (...) {
                bad = std::make_exception_ptr(std::runtime_error(bad_answer("no generation")));
            }
            tell(batch[0], generation, bad);
        } else {
            // Rows are (position in the arrays, generation); the positions are the batch's order.
            std::vector<std::optional<std::int32_t>> generations(batch.size());
            try {
                for (const DbRow& row : rows) {
                    auto position = db_integer(row.at(0));
                    if (position < 1 || position > static_cast<std::int64_t>(batch.size()))
                        throw std::runtime_error(bad_answer("a position out of range"));
                    generations[static_cast<std::size_t>(position - 1)] =
                        static_cast<std::int32_t>(db_integer(row.at(1)));
                }
            } catch (...) {
                error = std::current_exception();
            }
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (error)
                    tell(batch[i], 0, error);
                else if (!generations[i])
                    tell(batch[i], 0,
                         std::make_exception_ptr(std::runtime_error(bad_answer("no row for a shard"))));
                else
                    tell(batch[i], *generations[i], nullptr);
            }
        }
        pump();
    }

    asio::io_context& loop;
    AsyncCalls& calls;
    Metrics& metrics;
    const std::size_t max_calls;
    const std::size_t max_requests;
    const Clock::duration stalled;
    // Loop thread only:
    std::deque<Request> waiting;  // oldest first
    std::size_t in_flight = 0;
    Clock::time_point last_start;  // of the youngest call in flight
    asio::steady_timer timer;
    bool timer_armed = false;
    const Batch* blocking = nullptr;  // the call waiting on AsyncCalls' retry thread, if any
};

AttachBatcher::AttachBatcher(asio::io_context& loop, AsyncCalls& calls, Metrics& metrics, int max_calls,
                             std::size_t max_requests, std::chrono::steady_clock::duration stalled)
    : impl_(std::make_shared<Impl>(loop, calls, metrics, max_calls, max_requests, stalled)) {}

void AttachBatcher::submit(const TenantShardId& tenant, std::int64_t node, Done done) {
    impl_->waiting.push_back(Request{tenant, node, std::move(done)});
    impl_->pump();
}

}  // namespace gencontrol::http

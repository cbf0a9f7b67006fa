// Database calls made from the event loop: libpq in non-blocking mode on a pooled connection, its
// socket watched by Asio, so a request crosses no thread on its way to the database and back.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "pool.hpp"

namespace boost::asio {
class io_context;
}

namespace gencontrol::http {

class AsyncCalls {
public:
    // rows, or the error Pool::Lease::run would have thrown (rows empty then).
    using Done = std::function<void(DbRows rows, std::exception_ptr error)>;

    // `loop` is the serving core's event loop; every call below runs on it.
    AsyncCalls(boost::asio::io_context& loop, Pool& pool);
    // Waits for calls still running on the retry thread; the loop has answered everything else.
    ~AsyncCalls();
    AsyncCalls(const AsyncCalls&) = delete;
    AsyncCalls& operator=(const AsyncCalls&) = delete;

    // On the event loop only. Sends the statement on a free, open connection and returns true;
    // `done` then runs once, on the loop (or, when the connection broke mid-call and the call is
    // retried on a new one, on the retry thread). Returns false, having sent nothing, when the
    // call would block first (no free connection, or one that must connect or reconnect): the
    // caller then uses Pool::Lease::run on a worker, which waits, connects and reports as before.
    // Same statuses, retries, timeout and metrics as Lease::run.
    bool call(Statement statement, const std::vector<DbValue>& params, Done done);
    // On the event loop only. As call(), but a call that would block is not refused: it runs
    // Lease::run on the retry thread (waiting for a connection, or connecting, there) and `done`
    // runs on that thread. Returns true when the call went out on the loop, false when it went to
    // the retry thread (which runs one call at a time).
    bool call_or_wait(Statement statement, const std::vector<DbValue>& params, Done done);

    // Calls started and not yet done (for tests).
    std::size_t in_flight() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace gencontrol::http

// Runs a prepared statement from the event loop: the pool's non-blocking steps, a watched dup of
// the connection's socket and a timer per connection; a call that must reconnect goes to a thread.
#include "async_calls.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <optional>

namespace gencontrol::http {
namespace asio = boost::asio;

namespace {

// Whether the descriptor has bytes to read now. Asio's reactor is edge-triggered and its waits do
// not look before they sleep, so a wait started while bytes were already there would not wake.
bool readable_now(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

}  // namespace

struct AsyncCalls::Impl {
    // The loop's view of one pool slot. The socket is a dup of libpq's, registered with the
    // reactor once per database connection (not per call), and ours to close: libpq may close
    // its own descriptor at any time (a reconnect on a worker), and a number the kernel hands out
    // again must never be deregistered by a stale object.
    struct Connection {
        explicit Connection(asio::io_context& loop) : socket(loop), timer(loop) {}
        asio::posix::stream_descriptor socket;
        std::uint64_t watched = 0;  // the Lease::connection() the socket was made for
        asio::steady_timer timer;
    };

    struct Call {
        Pool::Lease lease;
        Statement statement;
        std::vector<DbValue> params;
        Done done;
        DbRows rows;
        bool finished = false;
    };

    Impl(asio::io_context& l, Pool& p) : loop(l), pool(p) {}

    // Makes sure the slot's socket watches the lease's current connection; false when it cannot.
    bool watch(Pool::Lease& lease) {
        auto& slot = slot_for(lease);
        if (slot.socket.is_open() && slot.watched == lease.connection()) return true;
        boost::system::error_code ec;
        slot.socket.close(ec);
        int fd = lease.socket();
        if (fd < 0) return false;
        int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (copy < 0) return false;  // out of descriptors: the worker path needs none
        slot.socket.assign(copy, ec);
        if (ec) {
            ::close(copy);
            return false;
        }
        slot.watched = lease.connection();
        return true;
    }

    Connection& slot_for(const Pool::Lease& lease) {
        while (connections.size() <= lease.slot()) connections.push_back(std::make_unique<Connection>(loop));
        return *connections[lease.slot()];
    }

    void wait(const std::shared_ptr<Call>& call, Pool::Lease::Step step) {
        auto& slot = slot_for(call->lease);
        auto type = step == Pool::Lease::Step::write ? asio::posix::stream_descriptor::wait_write
                                                     : asio::posix::stream_descriptor::wait_read;
        // An error from the wait itself (not a cancel: cancelled calls are finished) is libpq's to
        // find on the socket, so it is read as if readable.
        slot.socket.async_wait(type, [this, call](const boost::system::error_code&) {
            if (!call->finished) advance(call);
        });
    }

    void advance(const std::shared_ptr<Call>& call) {
        Pool::Lease::Step step;
        try {
            for (;;) {
                step = call->lease.advance([&call](const DbRowView& view) { call->rows.push_back(copy_row(view)); });
                if (step != Pool::Lease::Step::read || !readable_now(slot_for(call->lease).socket.native_handle()))
                    break;
            }
        } catch (...) {
            return finish(call, std::current_exception());
        }
        switch (step) {
            case Pool::Lease::Step::read:
            case Pool::Lease::Step::write: return wait(call, step);
            case Pool::Lease::Step::done: return finish(call, nullptr);
            case Pool::Lease::Step::lost: return retry(call);
            case Pool::Lease::Step::unready: return retry(call);
        }
    }

    // The connection broke after the statement was sent: Lease::run retries it once on a new
    // connection, as it does for its own calls; connecting blocks, so it runs on the retry thread.
    void retry(const std::shared_ptr<Call>& call) {
        stop_watching(*call);
        call->finished = true;
        --in_flight;
        ++retrying;
        asio::post(retries, [this, call] {
            DbRows rows;
            std::exception_ptr error;
            try {
                rows = call->lease.run(call->statement, call->params);
            } catch (...) {
                error = std::current_exception();
            }
            {
                Pool::Lease released = std::move(call->lease);
            }
            --retrying;
            call->done(std::move(rows), error);
        });
    }

    // A call that cannot start on the loop, run where a worker would run it.
    void wait_on_retry_thread(Statement statement, std::vector<DbValue> params, Done done) {
        ++retrying;
        asio::post(retries, [this, statement, params = std::move(params), done = std::move(done)] {
            DbRows rows;
            std::exception_ptr error;
            try {
                rows = pool.acquire().run(statement, params);
            } catch (...) {
                error = std::current_exception();
            }
            --retrying;
            done(std::move(rows), error);
        });
    }

    void finish(const std::shared_ptr<Call>& call, std::exception_ptr error) {
        stop_watching(*call);
        call->finished = true;
        --in_flight;
        DbRows rows = error ? DbRows{} : std::move(call->rows);
        {
            Pool::Lease released = std::move(call->lease);  // free before answering
        }
        call->done(std::move(rows), error);
    }

    void stop_watching(Call& call) {
        auto& slot = slot_for(call.lease);
        slot.timer.cancel();
        boost::system::error_code ec;
        slot.socket.cancel(ec);
        // A connection the call dropped (timeout, lost, a standby): our copy would keep its socket
        // open until the slot's next call on the loop, which may never come.
        if (call.lease.socket() < 0) slot.socket.close(ec);
    }

    static DbRow copy_row(const DbRowView& view) {
        DbRow row;
        row.reserve(static_cast<std::size_t>(view.columns()));
        for (int c = 0; c < view.columns(); ++c)
            row.push_back(view.is_null(c) ? DbValue{} : DbValue{std::string(view.value(c))});
        return row;
    }

    asio::io_context& loop;
    Pool& pool;
    std::vector<std::unique_ptr<Connection>> connections;  // by pool slot, loop thread only
    std::size_t in_flight = 0;                             // loop thread only
    std::atomic<std::size_t> retrying{0};
    asio::thread_pool retries{1};
};

AsyncCalls::AsyncCalls(asio::io_context& loop, Pool& pool) : impl_(std::make_unique<Impl>(loop, pool)) {}

AsyncCalls::~AsyncCalls() {
    impl_->retries.join();
}

std::size_t AsyncCalls::in_flight() const {
    return impl_->in_flight + impl_->retrying;
}

bool AsyncCalls::call(Statement statement, const std::vector<DbValue>& params, Done done) {
    Impl& impl = *impl_;
    auto lease = impl.pool.try_acquire();
    if (!lease || !impl.watch(*lease)) return false;
    Pool::Lease::Step step;
    try {
        step = lease->begin(statement, params);
    } catch (const DbError&) {
        return false;  // nothing was sent; the blocking path meets the same error and reports it
    }
    if (step == Pool::Lease::Step::unready) return false;

    auto call = std::make_shared<Impl::Call>(Impl::Call{std::move(*lease), statement, params, std::move(done), {}, false});
    ++impl.in_flight;
    if (step == Pool::Lease::Step::lost) {
        impl.retry(call);
        return true;
    }
    auto& slot = impl.slot_for(call->lease);
    slot.timer.expires_after(impl.pool.options().query_timeout);
    slot.timer.async_wait([&impl, call](const boost::system::error_code& ec) {
        if (ec || call->finished) return;
        impl.finish(call, std::make_exception_ptr(call->lease.time_out()));
    });
    impl.wait(call, step);
    return true;
}

bool AsyncCalls::call_or_wait(Statement statement, const std::vector<DbValue>& params, Done done) {
    if (call(statement, params, done)) return true;
    impl_->wait_on_retry_thread(statement, params, std::move(done));
    return false;
}

}  // namespace gencontrol::http

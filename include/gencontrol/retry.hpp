// Retrying forever, Neon's way: attempt n (n >= 1 after a first failure) waits min(1.1^n, 3) s,
// and a StopSignal ends every wait at once when the node shuts down.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "gencontrol/status.hpp"

namespace gencontrol::client {

// Shared by everything that may wait: request() wakes all waiters and makes later waits return
// at once. Thread-safe.
class StopSignal {
public:
    void request();
    bool requested() const;
    // Sleeps for `duration` unless stop is requested first; returns true when stopped.
    bool wait_for(std::chrono::duration<double> duration) const;

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    bool requested_ = false;
};

// Neon's backoff (utils::backoff with base 0.1 and max 3 s): no wait before the first attempt,
// min(1.1^n, 3) seconds before attempt n. `scale` shortens the waits for tests only.
std::chrono::duration<double> backoff_delay(unsigned attempt, double scale = 1.0);

// Runs `attempt` until it returns a Status that is ok or not kUnavailable, waiting between
// attempts; returns kCancelled when `stop` is requested first. `on_retry` (may be empty) hears
// every failure, for logs and metrics.
Status retry_forever(const std::function<Status()>& attempt, const StopSignal& stop,
                     const std::function<void(const Status&, unsigned attempt)>& on_retry = {},
                     double scale = 1.0);

}  // namespace gencontrol::client

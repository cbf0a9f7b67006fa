// Neon's retry-forever loop and its backoff, shared by both generation service clients.
#include "gencontrol/retry.hpp"

#include <algorithm>
#include <cmath>

namespace gencontrol::client {

void StopSignal::request() {
    {
        std::lock_guard lock(mutex_);
        requested_ = true;
    }
    changed_.notify_all();
}

bool StopSignal::requested() const {
    std::lock_guard lock(mutex_);
    return requested_;
}

bool StopSignal::wait_for(std::chrono::duration<double> duration) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, duration, [this] { return requested_; });
}

std::chrono::duration<double> backoff_delay(unsigned attempt, double scale) {
    if (attempt == 0) return std::chrono::duration<double>(0);
    return std::chrono::duration<double>(std::min(std::pow(1.1, attempt), 3.0) * scale);
}

Status retry_forever(const std::function<Status()>& attempt, const StopSignal& stop,
                     const std::function<void(const Status&, unsigned)>& on_retry, double scale) {
    for (unsigned n = 0;; ++n) {
        if (stop.wait_for(backoff_delay(n, scale))) return Status::cancelled("shutdown requested");
        Status s = attempt();
        if (s.code() != Status::Code::kUnavailable) return s;
        if (on_retry) on_retry(s, n + 1);
    }
}

}  // namespace gencontrol::client

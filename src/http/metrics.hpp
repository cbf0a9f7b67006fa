// The shim's Prometheus metrics: requests and latency by route and status (the serving core's
// RequestMetrics), database errors, reconnects, validate and attach coalescing and the pool's size and use.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "serving/metrics.hpp"

namespace gencontrol::http {

// A snapshot of the pool, taken when /metrics is scraped.
struct PoolStats {
    int size = 0;
    int in_use = 0;
    int connected = 0;
};

class Metrics {
public:
    Metrics();
    // route is a known route's path, or "unmatched"; the method is bounded by the core's method_label.
    void observe_request(std::string_view route, std::string_view method, int status, double seconds);
    // kind: unavailable, not_primary, timeout, not_installed, query.
    void count_db_error(std::string_view kind);
    void count_connect(bool replaced_lost_connection);
    void count_connect_failure();
    // One gen_validate call that answered `requests` validate requests together.
    void count_validate_call(std::size_t requests);
    // One attach call that carried `requests` attach-hook requests in one transaction.
    void count_attach_call(std::size_t requests);

    std::string render(const PoolStats& pool) const;

private:
    serving::RequestMetrics requests_;
    serving::CounterFamily db_errors_;
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> connect_failures_{0};
    std::atomic<std::uint64_t> validate_calls_{0};
    std::atomic<std::uint64_t> validate_call_requests_{0};
    std::atomic<std::uint64_t> attach_calls_{0};
    std::atomic<std::uint64_t> attach_call_requests_{0};
};

}  // namespace gencontrol::http

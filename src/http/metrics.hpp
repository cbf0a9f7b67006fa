// The shim's Prometheus metrics: requests and latency by route and status, database errors,
// reconnects, and the connection pool's size and use, rendered in the text exposition format.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace gencontrol::http {

// A snapshot of the pool, taken when /metrics is scraped.
struct PoolStats {
    int size = 0;
    int in_use = 0;
    int connected = 0;
};

class Metrics {
public:
    // Upper bounds of the latency buckets, in seconds: from a cached validate to a slow failover.
    static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};

    // route is a known route's path, or "unmatched", so unknown URLs cannot grow the label set.
    void observe_request(std::string_view route, std::string_view method, int status, double seconds);
    // kind: unavailable, not_primary, timeout, not_installed, query.
    void count_db_error(std::string_view kind);
    void count_connect(bool replaced_lost_connection);
    void count_connect_failure();
    // One gen_validate call that answered `requests` validate requests together.
    void count_validate_call(std::size_t requests);

    std::string render(const PoolStats& pool) const;

private:
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> buckets{};  // not cumulative; summed when rendered
        double sum = 0;
        std::uint64_t count = 0;
    };

    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
    std::map<std::tuple<std::string, int>, Histogram> latency_;
    std::map<std::string, std::uint64_t> db_errors_;
    std::atomic<std::uint64_t> connects_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> connect_failures_{0};
    std::atomic<std::uint64_t> validate_calls_{0};
    std::atomic<std::uint64_t> validate_call_requests_{0};
};

}  // namespace gencontrol::http

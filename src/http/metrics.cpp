// Counts what the shim does and renders it for Prometheus. One mutex guards the maps: a request
// takes it once, which costs far less than the database round trip every request makes.
#include "metrics.hpp"

#include <fmt/format.h>

namespace gencontrol::http {

void Metrics::observe_request(std::string_view route, std::string_view method, int status, double seconds) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(route), std::string(method), status}];
    auto& histogram = latency_[{std::string(route), status}];
    std::size_t bucket = 0;
    while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
    if (bucket < kBuckets.size()) ++histogram.buckets[bucket];
    histogram.sum += seconds;
    ++histogram.count;
}

void Metrics::count_db_error(std::string_view kind) {
    std::lock_guard lock(mutex_);
    ++db_errors_[std::string(kind)];
}

void Metrics::count_connect(bool replaced_lost_connection) {
    ++connects_;
    if (replaced_lost_connection) ++reconnects_;
}

void Metrics::count_connect_failure() {
    ++connect_failures_;
}

void Metrics::count_validate_call(std::size_t requests) {
    ++validate_calls_;
    validate_call_requests_ += requests;
}

std::string Metrics::render(const PoolStats& pool) const {
    std::string out;
    auto header = [&](const char* name, const char* type, const char* help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    std::lock_guard lock(mutex_);

    header("gencontrol_http_requests_total", "counter",
           "HTTP requests answered, by route, method and status.");
    for (const auto& [key, count] : requests_) {
        const auto& [route, method, status] = key;
        out += fmt::format("gencontrol_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}\n",
                           route, method, status, count);
    }

    header("gencontrol_http_request_duration_seconds", "histogram",
           "Time from reading a request to having its response, by route and status.");
    for (const auto& [key, histogram] : latency_) {
        const auto& [route, status] = key;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBuckets.size(); ++i) {
            cumulative += histogram.buckets[i];
            out += fmt::format(
                "gencontrol_http_request_duration_seconds_bucket{{route=\"{}\",status=\"{}\",le=\"{"
                "}\"}} {}\n",
                route, status, kBuckets[i], cumulative);
        }
        out += fmt::format(
            "gencontrol_http_request_duration_seconds_bucket{{route=\"{}\",status=\"{}\",le=\"+"
            "Inf\"}} {}\n",
            route, status, histogram.count);
        out += fmt::format("gencontrol_http_request_duration_seconds_sum{{route=\"{}\",status=\"{}\"}} {}\n",
                           route, status, histogram.sum);
        out +=
            fmt::format("gencontrol_http_request_duration_seconds_count{{route=\"{}\",status=\"{}\"}} {}\n",
                        route, status, histogram.count);
    }

    header("gencontrol_db_pool_size", "gauge", "Database connections the pool may hold (--pool-size).");
    out += fmt::format("gencontrol_db_pool_size {}\n", pool.size);
    header("gencontrol_db_pool_in_use", "gauge", "Database connections lent to requests right now.");
    out += fmt::format("gencontrol_db_pool_in_use {}\n", pool.in_use);
    header("gencontrol_db_pool_connected", "gauge", "Database connections currently open.");
    out += fmt::format("gencontrol_db_pool_connected {}\n", pool.connected);

    header("gencontrol_db_errors_total", "counter",
           "Database calls that failed, by kind (unavailable, not_primary, timeout, not_installed, "
           "query).");
    for (const auto& [kind, count] : db_errors_)
        out += fmt::format("gencontrol_db_errors_total{{kind=\"{}\"}} {}\n", kind, count);

    header("gencontrol_db_connects_total", "counter", "Database connections opened.");
    out += fmt::format("gencontrol_db_connects_total {}\n", connects_.load());
    header("gencontrol_db_reconnects_total", "counter", "Database connections opened to replace a lost one.");
    out += fmt::format("gencontrol_db_reconnects_total {}\n", reconnects_.load());
    header("gencontrol_db_connect_failures_total", "counter",
           "Attempts to open a database connection that failed.");
    out += fmt::format("gencontrol_db_connect_failures_total {}\n", connect_failures_.load());
    header("gencontrol_validate_calls_total", "counter",
           "gen_validate calls made; validate requests that arrive together share one call.");
    out += fmt::format("gencontrol_validate_calls_total {}\n", validate_calls_.load());
    header("gencontrol_validate_call_requests_total", "counter",
           "Validate requests answered by those calls (divided by the calls: requests per call).");
    out += fmt::format("gencontrol_validate_call_requests_total {}\n", validate_call_requests_.load());
    return out;
}

}  // namespace gencontrol::http

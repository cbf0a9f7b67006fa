// Counts what the shim does and renders it for Prometheus through the serving core's exposition,
// which escapes every label value.
#include "metrics.hpp"

namespace gencontrol::http {

Metrics::Metrics()
    : requests_("gencontrol_http"),
      db_errors_("gencontrol_db_errors_total",
                 "Database calls that failed, by kind (unavailable, not_primary, timeout, not_installed, query).",
                 {"kind"}) {}

void Metrics::observe_request(std::string_view route, std::string_view method, int status, double seconds) {
    requests_.observe(route, method, status, seconds);
}

void Metrics::count_db_error(std::string_view kind) {
    db_errors_.add({std::string(kind)});
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

void Metrics::count_attach_call(std::size_t requests) {
    ++attach_calls_;
    attach_call_requests_ += requests;
}

std::string Metrics::render(const PoolStats& pool) const {
    using serving::write_family_header;
    using serving::write_sample;
    std::string out;
    requests_.render(out);
    auto gauge = [&](const char* name, const char* help, double value) {
        write_family_header(out, name, "gauge", help);
        write_sample(out, name, {}, value);
    };
    auto counter = [&](const char* name, const char* help, double value) {
        write_family_header(out, name, "counter", help);
        write_sample(out, name, {}, value);
    };
    gauge("gencontrol_db_pool_size", "Database connections the pool may hold (--pool-size).", pool.size);
    gauge("gencontrol_db_pool_in_use", "Database connections lent to requests right now.", pool.in_use);
    gauge("gencontrol_db_pool_connected", "Database connections currently open.", pool.connected);
    db_errors_.render(out);
    counter("gencontrol_db_connects_total", "Database connections opened.", static_cast<double>(connects_));
    counter("gencontrol_db_reconnects_total", "Database connections opened to replace a lost one.",
            static_cast<double>(reconnects_));
    counter("gencontrol_db_connect_failures_total", "Attempts to open a database connection that failed.",
            static_cast<double>(connect_failures_));
    counter("gencontrol_validate_calls_total",
            "gen_validate calls made; validate requests that arrive together share one call.",
            static_cast<double>(validate_calls_));
    counter("gencontrol_validate_call_requests_total",
            "Validate requests answered by those calls (divided by the calls: requests per call).",
            static_cast<double>(validate_call_requests_));
    counter("gencontrol_attach_calls_total",
            "gen_attach calls made for attach-hooks without generation_override; requests that arrive while "
            "one is in flight share the next call's transaction.",
            static_cast<double>(attach_calls_));
    counter("gencontrol_attach_call_requests_total",
            "Attach-hook requests carried by those calls (divided by the calls: requests per call).",
            static_cast<double>(attach_call_requests_));
    return out;
}

}  // namespace gencontrol::http

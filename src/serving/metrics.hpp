// Prometheus text exposition shared by gencontrol's servers: counter and histogram families keyed
// by label values, label escaping, and the per-request metrics every server keeps.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gencontrol::serving {

// A label value as the text format needs it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

// A request's method as a label: one of the methods HTTP defines, or "other", so a client cannot
// grow the label set or write into the page.
std::string_view method_label(std::string_view method);

// Appends "# HELP" and "# TYPE" lines.
void write_family_header(std::string& out, std::string_view name, std::string_view type,
                         std::string_view help);
// Appends one sample: name{label="value",...} value. Values are escaped here.
void write_sample(std::string& out, std::string_view name,
                  const std::vector<std::pair<std::string_view, std::string_view>>& labels, double value);

// A counter per combination of label values. The label names are fixed at construction; callers
// pass values that are already bounded (route tables, method_label, status codes).
class CounterFamily {
public:
    CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);
    void add(const std::vector<std::string>& label_values, std::uint64_t n = 1);
    std::uint64_t value(const std::vector<std::string>& label_values) const;
    void render(std::string& out) const;

private:
    std::string name_, help_;
    std::vector<std::string> label_names_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::uint64_t> counts_;
};

// A histogram per combination of label values, over fixed bucket bounds in seconds.
class HistogramFamily {
public:
    // From a cached validate to a slow failover.
    static constexpr std::array<double, 14> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025,  0.05,  0.1,    0.25,  0.5,
                                                               1,      2.5,   5,      10};

    HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names);
    void observe(const std::vector<std::string>& label_values, double seconds);
    void render(std::string& out) const;

private:
    struct Series {
        std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};  // not cumulative
        double sum = 0;
        std::uint64_t count = 0;
    };
    std::string name_, help_;
    std::vector<std::string> label_names_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, Series> series_;
};

// What every server counts per answered request: {prefix}_requests_total{route,method,status} and
// {prefix}_request_duration_seconds{route,status}. `route` must come from the server's route table
// (or a fixed word such as "unmatched"); the method is passed through method_label here.
class RequestMetrics {
public:
    explicit RequestMetrics(std::string_view prefix);
    void observe(std::string_view route, std::string_view method, int status, double seconds);
    void render(std::string& out) const;

private:
    CounterFamily requests_;
    HistogramFamily latency_;
};

}  // namespace gencontrol::serving

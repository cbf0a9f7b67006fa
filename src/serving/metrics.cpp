// The text exposition format (Prometheus 0.0.4): families render themselves under their own
// mutex, so a scrape never blocks requests for longer than one family's copy-out.
#include "serving/metrics.hpp"

#include <fmt/format.h>

namespace gencontrol::serving {

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string_view method_label(std::string_view method) {
    static constexpr std::string_view kKnown[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                  "OPTIONS", "PATCH",   "TRACE", "CONNECT"};
    for (auto known : kKnown)
        if (known == method) return known;
    return "other";
}

void write_family_header(std::string& out, std::string_view name, std::string_view type,
                         std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void write_sample(std::string& out, std::string_view name,
                  const std::vector<std::pair<std::string_view, std::string_view>>& labels, double value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (i > 0) out += ',';
            out += labels[i].first;
            out += "=\"";
            out += escape_label_value(labels[i].second);
            out += '"';
        }
        out += '}';
    }
    out += fmt::format(" {}\n", value);
}

namespace {

std::vector<std::pair<std::string_view, std::string_view>> zip(const std::vector<std::string>& names,
                                                               const std::vector<std::string>& values) {
    std::vector<std::pair<std::string_view, std::string_view>> labels;
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) labels.emplace_back(names[i], values[i]);
    return labels;
}

}  // namespace

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterFamily::add(const std::vector<std::string>& label_values, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    counts_[label_values] += n;
}

std::uint64_t CounterFamily::value(const std::vector<std::string>& label_values) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(label_values);
    return it == counts_.end() ? 0 : it->second;
}

void CounterFamily::render(std::string& out) const {
    write_family_header(out, name_, "counter", help_);
    std::lock_guard lock(mutex_);
    for (const auto& [values, count] : counts_)
        write_sample(out, name_, zip(label_names_, values), static_cast<double>(count));
}

HistogramFamily::HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void HistogramFamily::observe(const std::vector<std::string>& label_values, double seconds) {
    std::size_t bucket = 0;
    while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
    std::lock_guard lock(mutex_);
    auto& series = series_[label_values];
    if (bucket < kLatencyBuckets.size()) ++series.buckets[bucket];
    series.sum += seconds;
    ++series.count;
}

void HistogramFamily::render(std::string& out) const {
    write_family_header(out, name_, "histogram", help_);
    const std::string bucket_name = name_ + "_bucket", sum_name = name_ + "_sum", count_name = name_ + "_count";
    std::lock_guard lock(mutex_);
    for (const auto& [values, series] : series_) {
        auto labels = zip(label_names_, values);
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
            cumulative += series.buckets[i];
            std::string le = fmt::format("{}", kLatencyBuckets[i]);
            auto with_le = labels;
            with_le.emplace_back("le", le);
            write_sample(out, bucket_name, with_le, static_cast<double>(cumulative));
        }
        auto with_inf = labels;
        with_inf.emplace_back("le", "+Inf");
        write_sample(out, bucket_name, with_inf, static_cast<double>(series.count));
        write_sample(out, sum_name, labels, series.sum);
        write_sample(out, count_name, labels, static_cast<double>(series.count));
    }
}

RequestMetrics::RequestMetrics(std::string_view prefix)
    : requests_(fmt::format("{}_requests_total", prefix), "HTTP requests answered, by route, method and status.",
                {"route", "method", "status"}),
      latency_(fmt::format("{}_request_duration_seconds", prefix),
               "Time from a request's first byte to having its response, by route and status.",
               {"route", "status"}) {}

void RequestMetrics::observe(std::string_view route, std::string_view method, int status, double seconds) {
    std::string status_text = std::to_string(status);
    requests_.add({std::string(route), std::string(method_label(method)), status_text});
    latency_.observe({std::string(route), status_text}, seconds);
}

void RequestMetrics::render(std::string& out) const {
    requests_.render(out);
    latency_.render(out);
}

}  // namespace gencontrol::serving

// One line per event, with a UTC timestamp, written whole so threads never interleave.
#include "log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace gencontrol::node {

void log_line(const std::string& message) {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::string line = std::string(stamp) + " " + message + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace gencontrol::node

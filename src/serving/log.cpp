// Formats and writes the servers' log lines (plain: "TIME LEVEL message key=value ...", or one JSON
// object per line). The level and format are set once at start, before any thread logs.
#include "serving/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

namespace gencontrol::serving::log {
namespace {

std::atomic<LogFormat> g_format{LogFormat::plain};
std::atomic<LogLevel> g_level{LogLevel::info};

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warn";
        case LogLevel::error: return "error";
    }
    return "info";
}

std::string timestamp() {
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(now);
    auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:03d}Z", buffer, static_cast<int>(millis));
}

std::string plain_value(const nlohmann::json& value) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        bool needs_quotes = s.empty() || s.find_first_of(" \t\n\"=") != std::string::npos;
        if (!needs_quotes) return s;
    }
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void configure(LogFormat format, LogLevel level) {
    g_format = format;
    g_level = level;
}

bool enabled(LogLevel level) {
    return level >= g_level.load(std::memory_order_relaxed);
}

std::string format_line(LogFormat format, LogLevel level, std::string_view message, const Fields& fields) {
    if (format == LogFormat::json) {
        // Ordered, so every line starts with time, level and msg, whatever the fields.
        nlohmann::ordered_json line = {{"time", timestamp()}, {"level", level_name(level)}, {"msg", message}};
        for (const auto& [key, value] : fields) line[key] = nlohmann::ordered_json(value);
        return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    }
    std::string line = fmt::format("{} {:5} {}", timestamp(), level_name(level), message);
    for (const auto& [key, value] : fields) {
        line += ' ';
        line += key;
        line += '=';
        line += plain_value(value);
    }
    return line;
}

void write(LogLevel level, std::string_view message, const Fields& fields) {
    if (!enabled(level)) return;
    std::string line = format_line(g_format.load(std::memory_order_relaxed), level, message, fields);
    line += '\n';
    // stderr is unbuffered; one write() keeps the line whole (a pipe accepts up to PIPE_BUF
    // atomically).
    const char* data = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, data, left);
        if (n <= 0) break;
        data += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace gencontrol::serving::log

// The log of gencontrol's servers (gencontrol-http, gencontrol-node): one line per event on stderr,
// plain for people or JSON for machines; each line is a single write(), so lines never interleave.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gencontrol::serving {

enum class LogFormat { plain, json };
enum class LogLevel { debug, info, warn, error };

}  // namespace gencontrol::serving

namespace gencontrol::serving::log {

using Fields = std::vector<std::pair<std::string, nlohmann::json>>;

void configure(LogFormat format, LogLevel level);
bool enabled(LogLevel level);
void write(LogLevel level, std::string_view message, const Fields& fields = {});

// The formatted line without the trailing newline; exposed for the unit tests.
std::string format_line(LogFormat format, LogLevel level, std::string_view message, const Fields& fields);

inline void debug(std::string_view m, const Fields& f = {}) {
    write(LogLevel::debug, m, f);
}
inline void info(std::string_view m, const Fields& f = {}) {
    write(LogLevel::info, m, f);
}
inline void warn(std::string_view m, const Fields& f = {}) {
    write(LogLevel::warn, m, f);
}
inline void error(std::string_view m, const Fields& f = {}) {
    write(LogLevel::error, m, f);
}

}  // namespace gencontrol::serving::log

// The shim's configuration: command-line flags, the environment variables behind them, their
// defaults and help, all from one table in config.cpp. Flags win over the environment.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "serving/log.hpp"

namespace gencontrol::http {

using serving::LogFormat;
using serving::LogLevel;
namespace log = serving::log;

struct Config {
    std::string listen_host = "127.0.0.1";
    int listen_port = 1234;
    std::string database_url;  // empty: libpq's defaults (PGHOST, PGPORT, ...)
    int pool_size = 8;
    std::vector<std::string> jwt_public_keys;  // none: authorization off
    std::size_t max_body_bytes = 16 * 1024 * 1024;
    LogFormat log_format = LogFormat::plain;
    LogLevel log_level = LogLevel::info;
    // (1.1) HTTPS instead of HTTP when both are set; re-read on SIGHUP.
    std::string tls_cert;
    std::string tls_key;
    std::size_t max_connections = 16384;
    // Beyond the table in docs/design.md, for operators: threads that run requests (an idle connection never
    // holds one), and the bound on any one request's database work.
    int http_threads = 64;
    int request_timeout_seconds = 10;
    // gen_validate calls that may run at once; validate requests arriving meanwhile wait and share
    // the next call, which costs the database less per entry than separate ones.
    int validate_calls = 4;
};

struct ConfigOutcome {
    std::optional<Config> config;
    std::string error;  // set when config is empty and help is false
    bool help = false;  // --help: print usage() and exit 0
};

using EnvLookup = std::function<const char*(const char*)>;

ConfigOutcome parse_config(const std::vector<std::string>& args, const EnvLookup& env);

// "HOST:PORT", "[v6]:PORT" or ":PORT" (all interfaces); empty on anything else.
std::optional<std::pair<std::string, int>> parse_listen_address(std::string_view text);

std::string usage();

}  // namespace gencontrol::http

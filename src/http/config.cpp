// Reads the shim's flags and environment into a Config, refusing unknown flags and bad values
// with a sentence that names the flag, so a typo never starts a server with a default.
#include "config.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace gencontrol::http {
namespace {

std::optional<long long> parse_integer(std::string_view text, long long min, long long max) {
    long long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        return std::nullopt;
    return value;
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

// Applies one setting; returns an error sentence, empty when it was accepted.
std::string apply(Config& config, std::string_view name, std::string_view value, bool from_env) {
    auto bad = [&](std::string_view expected) {
        return fmt::format("{}: expected {}, got '{}'", name, expected, value);
    };
    if (name == "--listen") {
        auto address = parse_listen_address(value);
        if (!address) return bad("HOST:PORT");
        config.listen_host = address->first;
        config.listen_port = address->second;
    } else if (name == "--database-url") {
        config.database_url = value;
    } else if (name == "--pool-size") {
        auto n = parse_integer(value, 1, 1000);
        if (!n) return bad("an integer from 1 to 1000");
        config.pool_size = static_cast<int>(*n);
    } else if (name == "--jwt-public-key") {
        // The environment holds a comma-separated list; the flag is repeated instead.
        if (from_env) {
            config.jwt_public_keys = split_list(value);
        } else {
            if (value.empty()) return bad("a path");
            config.jwt_public_keys.emplace_back(value);
        }
    } else if (name == "--max-body-bytes") {
        auto n = parse_integer(value, 1, std::numeric_limits<std::int32_t>::max());
        if (!n) return bad("a positive number of bytes");
        config.max_body_bytes = static_cast<std::size_t>(*n);
    } else if (name == "--log-format") {
        if (value == "plain")
            config.log_format = LogFormat::plain;
        else if (value == "json")
            config.log_format = LogFormat::json;
        else
            return bad("plain or json");
    } else if (name == "--log-level") {
        if (value == "debug")
            config.log_level = LogLevel::debug;
        else if (value == "info")
            config.log_level = LogLevel::info;
        else if (value == "warn")
            config.log_level = LogLevel::warn;
        else if (value == "error")
            config.log_level = LogLevel::error;
        else
            return bad("debug, info, warn or error");
    } else if (name == "--http-threads") {
        auto n = parse_integer(value, 1, 4096);
        if (!n) return bad("an integer from 1 to 4096");
        config.http_threads = static_cast<int>(*n);
    } else if (name == "--validate-calls") {
        auto n = parse_integer(value, 1, 4096);
        if (!n) return bad("an integer from 1 to 4096");
        config.validate_calls = static_cast<int>(*n);
    } else if (name == "--request-timeout") {
        auto n = parse_integer(value, 1, 3600);
        if (!n) return bad("a number of seconds from 1 to 3600");
        config.request_timeout_seconds = static_cast<int>(*n);
    } else {
        return fmt::format("unknown flag {} (see --help)", name);
    }
    return {};
}

struct EnvName {
    const char* flag;
    const char* variable;
};

constexpr EnvName kEnvironment[] = {
    {"--listen", "GENCONTROL_LISTEN"},
    {"--database-url", "GENCONTROL_DATABASE_URL"},
    {"--pool-size", "GENCONTROL_POOL_SIZE"},
    {"--jwt-public-key", "GENCONTROL_JWT_PUBLIC_KEY"},
    {"--max-body-bytes", "GENCONTROL_MAX_BODY_BYTES"},
    {"--log-format", "GENCONTROL_LOG_FORMAT"},
    {"--log-level", "GENCONTROL_LOG_LEVEL"},
    {"--http-threads", "GENCONTROL_HTTP_THREADS"},
    {"--request-timeout", "GENCONTROL_REQUEST_TIMEOUT"},
    {"--validate-calls", "GENCONTROL_VALIDATE_CALLS"},
};

}  // namespace

std::optional<std::pair<std::string, int>> parse_listen_address(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view host = text.substr(0, colon);
    auto port = parse_integer(text.substr(colon + 1), 1, 65535);
    if (!port) return std::nullopt;
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // an IPv6 address needs brackets, or the port is ambiguous
    }
    if (host.empty()) host = "0.0.0.0";
    return std::make_pair(std::string(host), static_cast<int>(*port));
}

ConfigOutcome parse_config(const std::vector<std::string>& args, const EnvLookup& env) {
    Config config;
    for (const auto& [flag, variable] : kEnvironment) {
        const char* value = env ? env(variable) : nullptr;
        if (value == nullptr || *value == '\0') continue;
        if (auto error = apply(config, flag, value, true); !error.empty())
            return {std::nullopt, fmt::format("{} (from ${})", error, variable)};
    }
    // A flag replaces the environment's list of keys rather than adding to it.
    bool keys_from_flags = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") return {std::nullopt, {}, true};
        if (arg.substr(0, 2) != "--")
            return {std::nullopt, fmt::format("unexpected argument '{}' (see --help)", arg)};
        std::string name(arg);
        std::string value;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            name = std::string(arg.substr(0, eq));
            value = std::string(arg.substr(eq + 1));
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            return {std::nullopt, fmt::format("{}: missing value", name)};
        }
        if (name == "--jwt-public-key" && !keys_from_flags) {
            config.jwt_public_keys.clear();
            keys_from_flags = true;
        }
        if (auto error = apply(config, name, value, false); !error.empty()) return {std::nullopt, error};
    }
    return {config, {}};
}

std::string usage() {
    return R"(gencontrol-http: the Neon-compatible HTTP shim in front of the gencontrol extension

Usage: gencontrol-http [FLAG VALUE]...

  --listen HOST:PORT        address to serve [GENCONTROL_LISTEN] (127.0.0.1:1234)
  --database-url CONNINFO   libpq conninfo or URI; multi-host with target_session_attrs=read-write
                            follows a failover [GENCONTROL_DATABASE_URL] (libpq defaults)
  --pool-size N             database connections [GENCONTROL_POOL_SIZE] (8)
  --jwt-public-key PATH     PEM Ed25519 public key, or a directory of them; repeatable
                            [GENCONTROL_JWT_PUBLIC_KEY, comma-separated] (none: auth off)
  --max-body-bytes N        larger requests get 413 [GENCONTROL_MAX_BODY_BYTES] (16777216)
  --log-format plain|json   [GENCONTROL_LOG_FORMAT] (plain)
  --log-level LEVEL         debug (one line per request), info, warn, error [GENCONTROL_LOG_LEVEL] (info)
  --http-threads N          HTTP worker threads [GENCONTROL_HTTP_THREADS] (64)
  --request-timeout SECONDS bound on socket reads/writes and database work per request
                            [GENCONTROL_REQUEST_TIMEOUT] (10)
  --validate-calls N        gen_validate calls at once; validate requests arriving meanwhile
                            share the next one [GENCONTROL_VALIDATE_CALLS] (2)
  --help                    this text

SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.
)";
}

}  // namespace gencontrol::http

// Reads the shim's flags and environment into a Config from one table (flag, variable, default,
// help, setter), refusing unknown flags and bad values with a sentence that names the flag.
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

// A setter applies one value; it returns what was expected when the value is refused, else empty.
using Setter = std::string (*)(Config&, std::string_view value, bool from_env);

template <class T>
std::string set_integer(T& field, std::string_view value, long long min, long long max, const char* expected) {
    auto n = parse_integer(value, min, max);
    if (!n) return expected;
    field = static_cast<T>(*n);
    return {};
}

struct Setting {
    const char* flag;
    const char* variable;
    const char* value_name;
    const char* fallback;  // the default, as help shows it
    const char* help;
    Setter set;
};

// Every setting of the shim, in the order --help lists them.
const Setting kSettings[] = {
    {"--listen", "GENCONTROL_LISTEN", "HOST:PORT", "127.0.0.1:1234", "address to serve",
     [](Config& c, std::string_view v, bool) -> std::string {
         auto address = parse_listen_address(v);
         if (!address) return "HOST:PORT";
         c.listen_host = address->first;
         c.listen_port = address->second;
         return {};
     }},
    {"--database-url", "GENCONTROL_DATABASE_URL", "CONNINFO", "libpq defaults",
     "libpq conninfo or URI; multi-host with target_session_attrs=read-write follows a failover",
     [](Config& c, std::string_view v, bool) -> std::string {
         c.database_url = v;
         return {};
     }},
    {"--pool-size", "GENCONTROL_POOL_SIZE", "N", "8", "database connections",
     [](Config& c, std::string_view v, bool) { return set_integer(c.pool_size, v, 1, 1000, "an integer from 1 to 1000"); }},
    {"--jwt-public-key", "GENCONTROL_JWT_PUBLIC_KEY", "PATH", "none: auth off",
     "PEM Ed25519 public key, or a directory of them; repeatable (the variable: comma-separated); "
     "re-read on SIGHUP",
     [](Config& c, std::string_view v, bool from_env) -> std::string {
         if (from_env) {
             c.jwt_public_keys = split_list(v);
         } else {
             if (v.empty()) return "a path";
             c.jwt_public_keys.emplace_back(v);
         }
         return {};
     }},
    {"--max-body-bytes", "GENCONTROL_MAX_BODY_BYTES", "N", "16777216", "larger requests get 413",
     [](Config& c, std::string_view v, bool) {
         return set_integer(c.max_body_bytes, v, 1, std::numeric_limits<std::int32_t>::max(),
                            "a positive number of bytes");
     }},
    {"--log-format", "GENCONTROL_LOG_FORMAT", "plain|json", "plain", "log line format",
     [](Config& c, std::string_view v, bool) -> std::string {
         if (v == "plain")
             c.log_format = LogFormat::plain;
         else if (v == "json")
             c.log_format = LogFormat::json;
         else
             return "plain or json";
         return {};
     }},
    {"--log-level", "GENCONTROL_LOG_LEVEL", "LEVEL", "info", "debug (one line per request), info, warn, error",
     [](Config& c, std::string_view v, bool) -> std::string {
         if (v == "debug")
             c.log_level = LogLevel::debug;
         else if (v == "info")
             c.log_level = LogLevel::info;
         else if (v == "warn")
             c.log_level = LogLevel::warn;
         else if (v == "error")
             c.log_level = LogLevel::error;
         else
             return "debug, info, warn or error";
         return {};
     }},
    {"--tls-cert", "GENCONTROL_TLS_CERT", "PATH", "none", "PEM certificate chain: serve HTTPS (with --tls-key); re-read on SIGHUP",
     [](Config& c, std::string_view v, bool) -> std::string {
         if (v.empty()) return "a path";
         c.tls_cert = v;
         return {};
     }},
    {"--tls-key", "GENCONTROL_TLS_KEY", "PATH", "none", "PEM private key of --tls-cert; re-read on SIGHUP",
     [](Config& c, std::string_view v, bool) -> std::string {
         if (v.empty()) return "a path";
         c.tls_key = v;
         return {};
     }},
    {"--max-connections", "GENCONTROL_MAX_CONNECTIONS", "N", "16384",
     "open client connections; past it new ones wait in the kernel's backlog (the file-descriptor limit is raised to fit)",
     [](Config& c, std::string_view v, bool) {
         return set_integer(c.max_connections, v, 1, 1'000'000, "an integer from 1 to 1000000");
     }},
    {"--http-threads", "GENCONTROL_HTTP_THREADS", "N", "64",
     "threads that run requests; idle connections never hold one",
     [](Config& c, std::string_view v, bool) { return set_integer(c.http_threads, v, 1, 4096, "an integer from 1 to 4096"); }},
    {"--request-timeout", "GENCONTROL_REQUEST_TIMEOUT", "SECONDS", "10",
     "bound on each query and on the wait for a pooled connection",
     [](Config& c, std::string_view v, bool) {
         return set_integer(c.request_timeout_seconds, v, 1, 3600, "a number of seconds from 1 to 3600");
     }},
    {"--validate-calls", "GENCONTROL_VALIDATE_CALLS", "N", "4",
     "gen_validate calls at once; validate requests arriving meanwhile share the next one",
     [](Config& c, std::string_view v, bool) {
         return set_integer(c.validate_calls, v, 1, 4096, "an integer from 1 to 4096");
     }},
};

const Setting* find_setting(std::string_view flag) {
    for (const auto& s : kSettings)
        if (flag == s.flag) return &s;
    return nullptr;
}

std::string apply(Config& config, std::string_view name, std::string_view value, bool from_env) {
    const Setting* setting = find_setting(name);
    if (!setting) return fmt::format("unknown flag {} (see --help)", name);
    std::string expected = setting->set(config, value, from_env);
    if (expected.empty()) return {};
    return fmt::format("{}: expected {}, got '{}'", name, expected, value);
}

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
    for (const auto& setting : kSettings) {
        const char* value = env ? env(setting.variable) : nullptr;
        if (value == nullptr || *value == '\0') continue;
        if (auto error = apply(config, setting.flag, value, true); !error.empty())
            return {std::nullopt, fmt::format("{} (from ${})", error, setting.variable)};
    }
    // A flag replaces the environment's list of keys rather than adding to it.
    bool keys_from_flags = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (arg == "--help" || arg == "-h") return {std::nullopt, {}, true};
        if (arg.substr(0, 2) != "--") return {std::nullopt, fmt::format("unexpected argument '{}' (see --help)", arg)};
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
    if (config.tls_cert.empty() != config.tls_key.empty())
        return {std::nullopt, "--tls-cert and --tls-key go together"};
    return {config, {}};
}

std::string usage() {
    std::string out =
        "gencontrol-http: the Neon-compatible HTTP shim in front of the gencontrol extension\n\n"
        "Usage: gencontrol-http [FLAG VALUE]...\n\n";
    for (const auto& s : kSettings) {
        out += fmt::format("  {} {}\n      {} [{}] ({})\n", s.flag, s.value_name, s.help, s.variable, s.fallback);
    }
    out += "  --help\n      this text\n\n"
           "SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0.\n"
           "SIGHUP: re-read the JWT public keys and the TLS certificate and key; a file that fails to\n"
           "load leaves the old one in force and is logged.\n";
    return out;
}

}  // namespace gencontrol::http

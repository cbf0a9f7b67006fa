// Parsing gencontrol-node's flags: every flag of docs/design.md, "--flag value" or "--flag=value",
// and the rule that exactly one control plane is given unless --no-generations.
#include "config.hpp"

#include <charconv>
#include <string_view>

namespace gencontrol::node {

const char* const kUsage =
    "usage: gencontrol-node --node-id N --workdir DIR --remote-storage DIR\n"
    "         (--control-plane-api URL [--control-plane-token-file PATH] [--control-plane-ca-file PATH] |\n"
    "          --control-plane-database-url CONNINFO | --no-generations)\n"
    "         [--listen HOST:PORT]   (default 127.0.0.1:9898)\n";

namespace {
template <class T>
bool parse_number(std::string_view text, T& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

std::variant<NodeConfig, std::string> parse_flags(int argc, char** argv) {
    NodeConfig config;
    bool have_node_id = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string value;
        auto eq = arg.find('=');
        std::string_view name = arg.substr(0, eq);
        auto take = [&]() -> bool {
            if (eq != std::string_view::npos) {
                value = std::string(arg.substr(eq + 1));
                return true;
            }
            if (i + 1 >= argc) return false;
            value = argv[++i];
            return true;
        };
        if (name == "--no-generations") {
            config.no_generations = true;
            continue;
        }
        if (name == "--help" || name == "-h") return std::string("help");
        if (!take()) return "flag " + std::string(name) + " needs a value";
        if (name == "--node-id") {
            if (!parse_number(value, config.node_id) || config.node_id <= 0)
                return "--node-id must be an integer > 0";
            have_node_id = true;
        } else if (name == "--listen") {
            auto colon = value.rfind(':');
            if (colon == std::string::npos || colon == 0 ||
                !parse_number(std::string_view(value).substr(colon + 1), config.listen_port) ||
                config.listen_port < 1 || config.listen_port > 65535) {
                return "--listen must be HOST:PORT";
            }
            config.listen_host = value.substr(0, colon);
        } else if (name == "--workdir") {
            config.workdir = value;
        } else if (name == "--remote-storage") {
            config.remote_storage = value;
        } else if (name == "--control-plane-api") {
            config.control_plane_api = value;
        } else if (name == "--control-plane-database-url") {
            config.control_plane_database_url = value;
        } else if (name == "--control-plane-token-file") {
            config.control_plane_token_file = value;
        } else if (name == "--control-plane-ca-file") {
            config.control_plane_ca_file = value;
        } else {
            return "unknown flag " + std::string(name);
        }
    }
    if (!have_node_id) return "--node-id is required";
    if (config.workdir.empty()) return "--workdir is required";
    if (config.remote_storage.empty()) return "--remote-storage is required";
    int planes = !config.control_plane_api.empty() + !config.control_plane_database_url.empty();
    if (!config.no_generations && planes != 1) {
        return "exactly one of --control-plane-api and --control-plane-database-url is required "
               "(or --no-generations)";
    }
    if (config.control_plane_api.empty() &&
        (!config.control_plane_token_file.empty() || !config.control_plane_ca_file.empty()))
        return "--control-plane-token-file and --control-plane-ca-file go with --control-plane-api";
    return config;
}

}  // namespace gencontrol::node

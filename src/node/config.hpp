// gencontrol-node's command line: the flags of docs/design.md, parsed and checked in one place.
// Knows nothing of what the node does with them.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

namespace gencontrol::node {

struct NodeConfig {
    std::int64_t node_id = 0;
    std::string listen_host = "127.0.0.1";
    int listen_port = 9898;
    std::string workdir;
    std::string remote_storage;
    std::string control_plane_api;           // HTTP upcall API base, or empty
    std::string control_plane_database_url;  // libpq conninfo, or empty
    std::string control_plane_token_file;
    std::string control_plane_ca_file;  // PEM CAs that verify an https control plane, or the system's
    bool no_generations = false;  // control runs only: behave as before generations
};

// The config, or a sentence saying what is wrong (the caller prints it with the usage).
std::variant<NodeConfig, std::string> parse_flags(int argc, char** argv);
extern const char* const kUsage;

}  // namespace gencontrol::node

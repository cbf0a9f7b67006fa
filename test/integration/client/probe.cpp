// client_probe: one call of the library's generation service clients from the command line, so
// integration tests can stop and start the shim or the database while the call is retrying.
//   client_probe (--http URL [--token-file F] [--ca-file PEM] | --sql CONNINFO) [--backoff-scale X] re-attach NODE_ID
//   client_probe ... validate TENANT_SHARD_ID:GEN ...
// Prints the answer as JSON on stdout and "retries: N" on stderr.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gencontrol/generation_client.hpp"

using namespace gencontrol::client;

int main(int argc, char** argv) {
    std::string http, sql, token_file, ca_file;
    double scale = 1.0;
    int i = 1;
    for (; i + 1 < argc && std::string(argv[i]).starts_with("--"); i += 2) {
        std::string flag = argv[i];
        if (flag == "--http")
            http = argv[i + 1];
        else if (flag == "--sql")
            sql = argv[i + 1];
        else if (flag == "--token-file")
            token_file = argv[i + 1];
        else if (flag == "--ca-file")
            ca_file = argv[i + 1];
        else if (flag == "--backoff-scale")
            scale = std::stod(argv[i + 1]);
        else
            return 2;
    }
    if (i >= argc || http.empty() == sql.empty()) {
        std::fprintf(stderr, "usage: see probe.cpp\n");
        return 2;
    }
    // SIGTERM requests shutdown, as a node's would: the retrying call must end with kCancelled.
    static StopSignal stop;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::thread([signals] {
        int received;
        sigwait(&signals, &received);
        stop.request();
    }).detach();

    std::unique_ptr<GenerationClient> client;
    if (!http.empty()) {
        HttpClientOptions options;
        options.base_url = http;
        options.backoff_scale = scale;
        options.timeout_ms = 3000;
        options.ca_file = ca_file;
        if (!token_file.empty()) std::getline(std::ifstream(token_file), options.bearer_token);
        client = make_http_generation_client(options, stop);
    } else {
        client = make_sql_generation_client(sql, stop, scale);
    }
    unsigned retries = 0;
    client->set_retry_observer([&](const Status& s, unsigned) {
        ++retries;
        std::fprintf(stderr, "retry: %s\n", s.message().c_str());
    });

    std::string command = argv[i++];
    nlohmann::json out = nlohmann::json::array();
    Status status;
    if (command == "re-attach" && i < argc) {
        NodeRegistration me{std::stoll(argv[i]), "127.0.0.1", 9898, "127.0.0.1", 6400, "az-probe"};
        auto r = client->re_attach(me);
        status = r.status();
        if (r.is_ok()) {
            for (const auto& s : r.value()) {
                out.push_back(
                    {{"id", s.tenant_shard_id},
                     {"gen", s.generation ? nlohmann::json(*s.generation) : nlohmann::json(nullptr)},
                     {"mode", s.mode}});
            }
        }
    } else if (command == "validate") {
        std::vector<GenerationCheck> checks;
        for (; i < argc; ++i) {
            std::string arg = argv[i];
            auto colon = arg.find(':');
            checks.push_back(
                {arg.substr(0, colon), static_cast<Generation>(std::stoul(arg.substr(colon + 1)))});
        }
        auto r = client->validate(checks);
        status = r.status();
        if (r.is_ok()) {
            for (const auto& v : r.value()) out.push_back({{"id", v.tenant_shard_id}, {"valid", v.valid}});
        }
    } else {
        return 2;
    }
    std::fprintf(stderr, "retries: %u\n", retries);
    if (!status.is_ok()) {
        std::fprintf(stderr, "failed: %s\n", status.message().c_str());
        return status.code() == Status::Code::kCancelled ? 3 : 1;
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
}

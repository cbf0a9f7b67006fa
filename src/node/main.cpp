// gencontrol-node: flags, then serve /status at once while start-up (re-attach, attach, deletion
// queue recovery) runs, then every route; SIGTERM or SIGINT stops it cleanly.
#include <csignal>
#include <cstdio>
#include <thread>

#include "config.hpp"
#include "log.hpp"
#include "node.hpp"
#include "routes.hpp"
#include "serving/server.hpp"

using namespace gencontrol;

int main(int argc, char** argv) {
    auto parsed = node::parse_flags(argc, argv);
    if (auto* message = std::get_if<std::string>(&parsed)) {
        if (*message != "help") std::fprintf(stderr, "gencontrol-node: %s\n", message->c_str());
        std::fputs(node::kUsage, stderr);
        return *message == "help" ? 0 : 2;
    }
    auto config = std::get<node::NodeConfig>(parsed);
    if (config.no_generations)
        node::log_line("--no-generations: unsuffixed keys, no validation (control runs only)");

    // Signals are taken by one thread with sigwait, so no handler runs inside library code.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    node::Node the_node(config);
    if (auto s = the_node.open(); !s.is_ok()) {
        std::fprintf(stderr, "gencontrol-node: %s\n", s.message().c_str());
        return 1;
    }
    serving::Options options;
    options.host = config.listen_host;
    options.port = config.listen_port;
    serving::Handlers handlers;
    handlers.handle = [&](const serving::Request& request) { return node::handle(the_node, request); };
    serving::Server server(options, handlers);
    if (auto error = server.bind(); !error.empty()) {
        std::fprintf(stderr, "gencontrol-node: %s\n", error.c_str());
        return 1;
    }
    node::log_line("listening on " + config.listen_host + ":" + std::to_string(server.port()));

    std::thread start_up([&] {
        if (auto s = the_node.start_up(); !s.is_ok() && s.code() != client::Status::Code::kCancelled) {
            node::log_line("start-up failed: " + s.message());
            the_node.stop();
            server.stop();
        }
    });
    std::thread background([&] { the_node.run_background(); });
    std::thread signal_waiter([&] {
        int received = 0;
        sigwait(&signals, &received);
        node::log_line("signal " + std::to_string(received) + ": stopping");
        the_node.stop();
        server.stop();
    });
    server.run();
    the_node.stop();
    start_up.join();
    background.join();
    // The waiter is still in sigwait when the server stopped for another reason: wake it.
    pthread_kill(signal_waiter.native_handle(), SIGTERM);
    signal_waiter.join();
    return 0;
}

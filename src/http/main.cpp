// gencontrol-http's entry point: read the configuration, connect pool, auth, router and server,
// and serve until SIGTERM/SIGINT, which stops accepting, answers the requests in flight, exits 0.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "auth.hpp"
#include "config.hpp"
#include "serving/log.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "server.hpp"

using namespace gencontrol::http;

namespace {

// Signals are taken by one thread with sigwait, so no handler ever interrupts a request.
// SIGUSR1 only wakes that thread when the server ends for another reason.
void stop_on_signal(const sigset_t& signals, Server& server, const std::atomic<bool>& finished,
                    std::atomic<bool>& signalled) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0 || sig == SIGUSR1) return;
    signalled = true;
    log::info("stopping: answering the requests in flight", {{"signal", strsignal(sig)}});
    // stop() does nothing until the server is running, so it is repeated until run() returns.
    while (!finished) {
        server.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace

int main(int argc, char** argv) {
    ConfigOutcome outcome =
        parse_config({argv + 1, argv + argc}, [](const char* name) { return std::getenv(name); });
    if (outcome.help) return std::cout << usage(), 0;
    if (!outcome.config) return std::cerr << "gencontrol-http: " << outcome.error << "\n", 2;
    const Config& config = *outcome.config;
    log::configure(config.log_format, config.log_level);

    if (auto why = Pool::conninfo_error(config.database_url))
        return log::error("cannot parse --database-url", {{"error", *why}}), 2;
    std::string key_error;
    JwtVerifier verifier = JwtVerifier::from_files(config.jwt_public_keys, key_error);
    if (!key_error.empty()) return log::error("cannot load --jwt-public-key", {{"error", key_error}}), 2;
    if (!verifier.enabled())
        log::warn("no --jwt-public-key given: authorization is OFF and every route is open");

    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, sig);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts, so all inherit it
    signal(SIGPIPE, SIG_IGN);                       // a client that hung up is an error, not a death

    Metrics metrics;
    auto timeout = std::chrono::seconds(config.request_timeout_seconds);
    Pool pool({config.database_url, config.pool_size,
               std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(5)), timeout},
              metrics);
    Router router(pool, verifier, metrics, config.request_timeout_seconds, config.validate_calls);
    Server server(config, router, metrics);
    if (auto error = server.bind(); !error.empty()) return log::error(error), 1;
    log::info("listening", {{"address", config.listen_host + ":" + std::to_string(config.listen_port)},
                            {"pool_size", config.pool_size},
                            {"auth", verifier.enabled() ? "on" : "off"},
                            {"keys", verifier.key_count()}});

    std::atomic<bool> finished{false}, signalled{false};
    std::thread stopper(stop_on_signal, std::cref(signals), std::ref(server), std::cref(finished),
                        std::ref(signalled));
    server.run();
    finished = true;
    pthread_kill(stopper.native_handle(), SIGUSR1);
    stopper.join();
    log::info("stopped");
    return signalled ? 0 : 1;
}

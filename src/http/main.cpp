// gencontrol-http's entry point: read the configuration, build pool, keys, validate batcher, router,
// the serving core and the event-loop calls, and serve. One thread takes the signals: SIGTERM/SIGINT
// stop (requests in flight are answered), SIGHUP re-reads the JWT keys and the TLS files.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "async_calls.hpp"
#include "attach_batch.hpp"
#include "auth.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "router.hpp"
#include "serving/log.hpp"
#include "serving/server.hpp"
#include "validate_batch.hpp"

using namespace gencontrol;
using namespace gencontrol::http;

namespace {

// Signals are taken here with sigwait, so no handler ever interrupts a request. SIGUSR1 only
// wakes this thread when the server ends for another reason.
void take_signals(const sigset_t& signals, serving::Server& server, KeyRing& keys, const Config& config,
                  std::atomic<bool>& signalled) {
    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0 || sig == SIGUSR1) return;
        if (sig == SIGHUP) {
            if (auto error = keys.reload(); !error.empty())
                serving::log::error("SIGHUP: JWT keys not reloaded, the old ones stay in force", {{"error", error}});
            else if (!config.jwt_public_keys.empty())
                serving::log::info("SIGHUP: JWT keys reloaded", {{"keys", keys.current()->key_count()}});
            if (!config.tls_cert.empty()) {
                if (auto error = server.reload_tls(); !error.empty())
                    serving::log::error("SIGHUP: TLS files not reloaded, the old ones stay in force",
                                        {{"error", error}});
                else
                    serving::log::info("SIGHUP: TLS certificate and key reloaded");
            }
            continue;
        }
        signalled = true;
        serving::log::info("stopping: answering the requests in flight", {{"signal", strsignal(sig)}});
        server.stop();
        return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    ConfigOutcome outcome = parse_config({argv + 1, argv + argc}, [](const char* name) { return std::getenv(name); });
    if (outcome.help) return std::cout << usage(), 0;
    if (!outcome.config) return std::cerr << "gencontrol-http: " << outcome.error << "\n", 2;
    const Config& config = *outcome.config;
    serving::log::configure(config.log_format, config.log_level);

    if (auto why = Pool::conninfo_error(config.database_url))
        return serving::log::error("cannot parse --database-url", {{"error", *why}}), 2;
    std::string key_error;
    JwtVerifier verifier = JwtVerifier::from_files(config.jwt_public_keys, key_error);
    if (!key_error.empty()) return serving::log::error("cannot load --jwt-public-key", {{"error", key_error}}), 2;
    if (!verifier.enabled())
        serving::log::warn("no --jwt-public-key given: authorization is OFF and every route is open");
    KeyRing keys(config.jwt_public_keys, std::move(verifier));

    // Every connection is a descriptor; each pooled connection two (the event loop watches a
    // duplicate of its socket); logs and the listening socket a few more.
    std::size_t wanted = config.max_connections + 2 * static_cast<std::size_t>(config.pool_size) + 64;
    std::size_t fd_limit = serving::raise_fd_limit(wanted);
    if (fd_limit < wanted)
        serving::log::warn("the file-descriptor limit is below --max-connections; raise the hard limit (ulimit -Hn)",
                           {{"limit", fd_limit}, {"wanted", wanted}});

    sigset_t signals;
    sigemptyset(&signals);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1}) sigaddset(&signals, sig);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts, so all inherit it
    signal(SIGPIPE, SIG_IGN);                       // a client that hung up is an error, not a death

    Metrics metrics;
    auto timeout = std::chrono::seconds(config.request_timeout_seconds);
    Pool pool({config.database_url, config.pool_size, std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(5)),
               timeout},
              metrics);
    ValidateBatcher validate(pool, metrics, config.validate_calls);
    Router router(pool, keys, metrics, validate, config.request_timeout_seconds);

    serving::Options options;
    options.host = config.listen_host;
    options.port = config.listen_port;
    options.limits.max_body_bytes = config.max_body_bytes;
    options.limits.max_connections = config.max_connections;
    options.worker_threads = config.http_threads;
    if (!config.tls_cert.empty()) options.tls = serving::TlsFiles{config.tls_cert, config.tls_key};
    serving::Handlers handlers;
    handlers.head = [&router](serving::Request& request) { return router.head(request); };
    handlers.handle = [&router](const serving::Request& request) { return router.handle(request); };
    handlers.take = [&router](const serving::Request& request, const serving::Respond& respond) {
        return router.take(request, respond);
    };
    handlers.observe = [&router](const serving::Request& request, const serving::Reply& reply,
                                 std::chrono::steady_clock::duration elapsed) { router.observe(request, reply, elapsed); };
    serving::Server server(options, handlers);
    // Declared after the server: destroyed first, while the loop its sockets belong to still exists.
    AsyncCalls calls(server.loop(), pool);
    AttachBatcher attach(server.loop(), calls, metrics, config.pool_size);
    router.use_async_calls(calls, attach);
    if (auto error = server.bind(); !error.empty()) return serving::log::error(error), 1;
    serving::log::info("listening", {{"address", config.listen_host + ":" + std::to_string(server.port())},
                                     {"tls", config.tls_cert.empty() ? "off" : "on"},
                                     {"pool_size", config.pool_size},
                                     {"auth", keys.current()->enabled() ? "on" : "off"},
                                     {"keys", keys.current()->key_count()},
                                     {"fd_limit", fd_limit}});

    std::atomic<bool> signalled{false};
    std::thread signal_thread(take_signals, std::cref(signals), std::ref(server), std::ref(keys), std::cref(config),
                              std::ref(signalled));
    server.run();
    pthread_kill(signal_thread.native_handle(), SIGUSR1);
    signal_thread.join();
    serving::log::info("stopped");
    return signalled ? 0 : 1;
}

// The shim's HTTP side: the route table with its methods and required scopes (Router), and the
// cpp-httplib server that feeds it requests within the configured limits (Server).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "pool.hpp"
#include "routes.hpp"
#include "validate_batch.hpp"

namespace gencontrol::http {

// How a database failure is answered: 503 + Retry-After when trying again later can help.
struct DbErrorReply {
    int status = 500;
    std::string message;
    bool retry_after = false;
};
DbErrorReply reply_for_db_error(const DbError& error, int timeout_seconds);

// Finds the route, checks method and token, runs the handler and maps failures to statuses.
// Independent of the HTTP library, so tests drive it directly.
class Router {
public:
    struct Request {
        std::string_view method;
        std::string_view path;
        std::string_view authorization;  // the Authorization header, empty when absent
        std::string_view body;
    };

    // validate_calls: how many gen_validate calls may run at once (ValidateBatcher).
    Router(Pool& pool, const JwtVerifier& verifier, Metrics& metrics, int timeout_seconds,
           int validate_calls);
    Reply handle(const Request& request) const;

    // The metrics label for a path: the route's own path, or "unmatched".
    static std::string_view route_label(std::string_view path);

private:
    Pool& pool_;
    const JwtVerifier& verifier_;
    Metrics& metrics_;
    int timeout_seconds_;
    mutable ValidateBatcher validate_;
};

class Server {
public:
    Server(const Config& config, const Router& router, Metrics& metrics);
    ~Server();
    // Binds the listening socket; returns an error sentence, empty on success.
    std::string bind();
    // Serves until stop(); returns once the requests in flight have been answered.
    void run();
    // Safe from any thread, also before run() has started.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace gencontrol::http

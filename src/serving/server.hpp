// The serving core shared by gencontrol-http and gencontrol-node: one event loop that owns every
// client connection (no thread per connection), strict HTTP/1.1 framing, limits, TLS and access logs.
#pragma once

#include <any>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gencontrol::serving {

// One request as the core hands it to a program. Views stay valid until the reply is sent.
struct Request {
    std::string_view method;  // as sent; the core has already refused methods that are not tokens
    std::string_view path;    // the target without its query, not percent-decoded
    std::string_view query;   // after '?', empty when absent
    std::string_view body;    // empty in the head phase (see Handlers::head)
    std::string_view peer;    // "ip:port" of the client, for logs
    // The header's value, or nullopt when absent (names compare case-insensitively; the core has
    // already refused requests that repeat a framing header).
    std::function<std::optional<std::string_view>(std::string_view name)> header;
    std::chrono::steady_clock::time_point received;  // when the request's first byte arrived
    // The program's own per-request state: `head` may store what it learnt (the verified token's
    // claims) for `handle` to read, so nothing is checked twice.
    std::any state;
};

struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. Retry-After
    std::string log_message;  // why it was refused, for the access log; never parsed back
    bool close = false;       // close the connection after sending
};

struct Limits {
    std::size_t max_header_bytes = 64 * 1024;          // request line + all headers: 431 past it
    std::size_t max_body_bytes = 16 * 1024 * 1024;     // 413, before (Content-Length) or while reading
    std::size_t max_connections = 16384;               // past it, new connections wait in the backlog
    std::chrono::seconds header_timeout{10};           // a whole request head must arrive within it
    std::chrono::seconds body_timeout{30};             // reading a whole body, and writing a reply
    std::chrono::seconds idle_timeout{120};            // keep-alive connection with no request
};

struct TlsFiles {
    std::string cert_chain_path;
    std::string key_path;
};

// Answers a request that a program took over (Handlers::take); callable once, from any thread.
using Respond = std::function<void(Reply)>;

// What a program plugs into the core. `head` runs on the event loop as soon as the request head
// is parsed, before any body byte is read: it must not block (route lookup, method and token
// checks); a reply it returns is sent at once and the body is never read. `handle` runs on a
// worker thread with the whole body and may block (database calls). Exceptions from either
// become a 500 and are logged.
struct Handlers {
    std::function<std::optional<Reply>(Request&)> head;  // may be empty: every request goes on
    std::function<Reply(const Request&)> handle;
    // May be empty. Runs on the event loop with the whole body, before `handle` would, and must
    // not block: for work that waits on something shared rather than on a thread (a database call
    // that many requests share). Returning true takes the request over, and the program then
    // calls `respond` exactly once; false lets `handle` run on a worker as usual.
    std::function<bool(const Request&, const Respond& respond)> take;
    // Called once per answered request (also for those the core refused itself: 400, 408, 413,
    // 431...) with the label-safe route, method and status, and the real latency.
    std::function<void(const Request&, const Reply&, std::chrono::steady_clock::duration)> observe;
};

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;  // 0: any free port (see Server::port())
    Limits limits;
    std::optional<TlsFiles> tls;
    int worker_threads = 8;  // run Handlers::handle; connections never hold one while idle
};

class Server {
public:
    Server(Options options, Handlers handlers);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and listens; returns an error sentence, empty on success.
    std::string bind();
    int port() const;
    // Serves until stop(); returns after the requests in flight were answered.
    void run();
    // Safe from any thread and from a signal-handling thread.
    void stop();
    // Connections open now (for tests and logs).
    std::size_t connections() const;
    // Loads the TLS files again; on failure keeps the old ones and returns the error sentence.
    // Open connections keep their session; new handshakes use the new certificate.
    std::string reload_tls();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Raises RLIMIT_NOFILE's soft limit toward `wanted` (at most the hard limit); returns what it is now.
std::size_t raise_fd_limit(std::size_t wanted);

}  // namespace gencontrol::serving

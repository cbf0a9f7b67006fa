// The route table and the HTTP server around it: which method and scope each path needs, how
// failures become statuses, and the cpp-httplib set-up (limits, timeouts, threads, logging).
#include "server.hpp"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "json.hpp"
#include "serving/log.hpp"

namespace gencontrol::http {
namespace {

struct Route {
    std::string_view method;
    std::string_view path;
    Access access;
    Reply (*handler)(RouteContext&);
};

// Every route the shim serves; docs/http-api.yaml describes the same list.
constexpr Route kRoutes[] = {
    {"POST", "/upcall/v1/re-attach", Access::generations_api, re_attach_route},
    {"POST", "/upcall/v1/validate", Access::generations_api, validate_route},
    {"POST", "/debug/v1/attach-hook", Access::admin, attach_hook_route},
    {"POST", "/debug/v1/inspect", Access::admin, inspect_route},
    {"GET", "/status", Access::open, status_route},
    {"GET", "/ready", Access::open, ready_route},
    {"GET", "/metrics", Access::open, metrics_route},
};

std::string shorten(std::string_view text) {
    if (text.size() <= 120) return std::string(text);
    return std::string(text.substr(0, 117)) + "...";
}

// For the statuses cpp-httplib answers on its own, before any route runs.
const char* plain_reason(int status) {
    switch (status) {
        case 400: return "malformed HTTP request";
        case 404: return "no such route";
        case 408: return "request timed out";
        case 413: return "request body too large";
        case 414: return "request URI too long";
        case 416: return "range not satisfiable";
        default: return status >= 500 ? "internal error" : "request refused";
    }
}

// When the request being served on this thread started; each worker serves one request at a time.
thread_local std::chrono::steady_clock::time_point t_request_start{};

}  // namespace

Reply json_reply(int status, std::string body) {
    Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    return reply;
}

Reply error_reply(int status, std::string_view message) {
    return json_reply(status, format_error(message));
}

std::int64_t db_integer(const DbValue& value) {
    std::int64_t n = 0;
    if (!value) throw std::runtime_error("the database answered NULL where a number was expected");
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec != std::errc() || end != value->data() + value->size())
        throw std::runtime_error("the database answered '" + *value + "' where a number was expected");
    return n;
}

DbErrorReply reply_for_db_error(const DbError& error, int timeout_seconds) {
    switch (error.kind()) {
        case DbErrorKind::unavailable:
            return {503, std::string("database unavailable: ") + error.what(), true};
        case DbErrorKind::not_primary:
            return {503,
                    std::string("the database is not a primary (hot standby or read-only): ") + error.what(),
                    true};
        case DbErrorKind::timeout:
            return {503, fmt::format("the database did not answer within {} s", timeout_seconds), true};
        case DbErrorKind::not_installed:
            return {503,
                    std::string("the gencontrol extension is not installed in the database: ") + error.what(),
                    true};
        case DbErrorKind::query: break;
    }
    const std::string& state = error.sqlstate();
    // The database's own sentence is safe to pass on for these: it is about the caller's input.
    if (state.rfind("22", 0) == 0) return {400, error.what(), false};
    if (state == "P0002") return {404, error.what(), false};
    if (state == "55000" || state.rfind("23", 0) == 0) return {409, error.what(), false};
    // Serialization failures, deadlocks, lock and resource shortages pass: try again.
    if (state == "40001" || state == "40P01" || state == "55P03" || state.rfind("53", 0) == 0)
        return {503, std::string("the database asks to retry: ") + error.what(), true};
    return {500, "internal error", false};
}

Router::Router(Pool& pool, const JwtVerifier& verifier, Metrics& metrics, int timeout_seconds,
               int validate_calls)
    : pool_(pool),
      verifier_(verifier),
      metrics_(metrics),
      timeout_seconds_(timeout_seconds),
      validate_(pool, metrics, validate_calls) {}

std::string_view Router::route_label(std::string_view path) {
    for (const auto& route : kRoutes)
        if (route.path == path) return route.path;
    return "unmatched";
}

Reply Router::handle(const Request& request) const {
    // HEAD is GET without a body; cpp-httplib drops the body itself.
    std::string_view method = request.method == "HEAD" ? std::string_view("GET") : request.method;
    const Route* match = nullptr;
    std::string allowed;
    for (const auto& route : kRoutes) {
        if (route.path != request.path) continue;
        if (!allowed.empty()) allowed += ", ";
        allowed += route.method;
        if (route.method == method) match = &route;
    }
    if (allowed.empty()) return error_reply(404, fmt::format("no route for {}", shorten(request.path)));
    if (!match) {
        Reply reply =
            error_reply(405, fmt::format("{} does not accept {}", request.path, shorten(request.method)));
        reply.headers.emplace_back("Allow", allowed);
        return reply;
    }

    AuthDecision auth = verifier_.authorize(request.authorization, match->access, std::time(nullptr));
    if (auth.status != 200) {
        Reply reply = error_reply(auth.status, auth.message);
        if (auth.status == 401) reply.headers.emplace_back("WWW-Authenticate", "Bearer");
        return reply;
    }

    RouteContext context{pool_, metrics_, validate_, request.body};
    try {
        return match->handler(context);
    } catch (const DbError& e) {
        DbErrorReply mapped = reply_for_db_error(e, timeout_seconds_);
        if (mapped.status == 500)
            log::error("database call failed",
                       {{"route", match->path}, {"sqlstate", e.sqlstate()}, {"error", e.what()}});
        Reply reply = error_reply(mapped.status, mapped.message);
        if (mapped.retry_after) reply.headers.emplace_back("Retry-After", "1");
        return reply;
    } catch (const std::exception& e) {
        log::error("request failed", {{"route", match->path}, {"error", e.what()}});
        return error_reply(500, "internal error");
    }
}

struct Server::Impl {
    Impl(const Config& c, const Router& r, Metrics& m) : config(c), router(r), metrics(m) {}

    const Config& config;
    const Router& router;
    Metrics& metrics;
    httplib::Server http;

    void answer(const httplib::Request& req, httplib::Response& res, std::string_view body) const {
        std::string authorization = req.get_header_value("Authorization");
        Reply reply = router.handle({req.method, req.path, authorization, body});
        write(reply, res);
    }

    static void write(const Reply& reply, httplib::Response& res) {
        res.status = reply.status;
        res.set_content(reply.body, reply.content_type);
        for (const auto& [name, value] : reply.headers) res.set_header(name, value);
    }

    // Reads the body up to --max-body-bytes. cpp-httplib refuses a larger Content-Length itself;
    // a chunked body is read to its end (so the connection stays usable) but not kept.
    void answer_with_body(const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) const {
        std::string body;
        bool too_large = false;
        auto receive = [&](const char* data, std::size_t length) {
            if (too_large || body.size() + length > config.max_body_bytes) {
                too_large = true;
                body.clear();
                return true;
            }
            body.append(data, length);
            return true;
        };
        bool read = req.is_multipart_form_data()
                        ? reader([](const httplib::MultipartFormData&) { return true; }, receive)
                        : reader(receive);
        if (too_large || res.status == 413) {
            write(error_reply(413, fmt::format("request body larger than {} bytes", config.max_body_bytes)),
                  res);
        } else if (!read) {
            write(error_reply(400, "could not read the request body"), res);
        } else if (req.is_multipart_form_data()) {
            write(error_reply(400, "the request body must be JSON, not a form"), res);
        } else {
            answer(req, res, body);
        }
    }

    void log_request(const httplib::Request& req, const httplib::Response& res) const {
        double seconds = 0;
        if (t_request_start != std::chrono::steady_clock::time_point{}) {
            seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
            t_request_start = {};
        }
        metrics.observe_request(Router::route_label(req.path), req.method, res.status, seconds);
        LogLevel level = res.status >= 400 ? LogLevel::warn : LogLevel::debug;
        if (!log::enabled(level)) return;
        log::Fields fields = {{"method", req.method},
                              {"path", shorten(req.path)},
                              {"status", res.status},
                              {"duration_ms", std::round(seconds * 1e6) / 1e3},
                              {"remote", req.remote_addr}};
        if (res.status >= 400) {
            auto body = nlohmann::json::parse(res.body, nullptr, false);
            if (body.is_object() && body.contains("msg") && body["msg"].is_string())
                fields.emplace_back("error", body["msg"]);
        }
        log::write(level, "request", fields);
    }
};

Server::Server(const Config& config, const Router& router, Metrics& metrics)
    : impl_(std::make_unique<Impl>(config, router, metrics)) {
    auto& http = impl_->http;
    Impl* impl = impl_.get();
    int threads = config.http_threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
    // Only SO_REUSEADDR: SO_REUSEPORT would let a second shim share the port unnoticed.
    http.set_socket_options([](socket_t sock) {
        int on = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    });
    http.set_tcp_nodelay(true);
    http.set_payload_max_length(config.max_body_bytes);
    http.set_read_timeout(config.request_timeout_seconds, 0);
    http.set_write_timeout(config.request_timeout_seconds, 0);
    http.set_keep_alive_timeout(5);
    http.set_keep_alive_max_count(10000);

    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
        t_request_start = std::chrono::steady_clock::now();
        return httplib::Server::HandlerResponse::Unhandled;
    });
    auto plain = [impl](const httplib::Request& req, httplib::Response& res) { impl->answer(req, res, {}); };
    auto with_body = [impl](const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
        impl->answer_with_body(req, res, reader);
    };
    http.Get(".*", plain);
    http.Options(".*", plain);
    http.Post(".*", with_body);
    http.Put(".*", with_body);
    http.Patch(".*", with_body);
    http.Delete(".*", with_body);

    // Statuses cpp-httplib produces itself (unparsable request, 413 on Content-Length, methods it
    // has no table for) get the same {"msg": ...} body as ours.
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([impl](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            if (res.status == 413) {
                Impl::write(error_reply(413, fmt::format("request body larger than {} bytes",
                                                         impl->config.max_body_bytes)),
                            res);
            } else if (res.status == 400 && !req.method.empty() && !req.path.empty() && req.method != "GET" &&
                       req.method != "HEAD" && req.method != "POST" && req.method != "PUT" &&
                       req.method != "PATCH" && req.method != "DELETE" && req.method != "OPTIONS") {
                impl->answer(req, res, {});  // TRACE, CONNECT...: 404 or 405 as for any other method
            } else {
                Impl::write(error_reply(res.status, plain_reason(res.status)), res);
            }
            return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler(
        [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown exception";
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            log::error("request failed", {{"path", shorten(req.path)}, {"error", what}});
            Impl::write(error_reply(500, "internal error"), res);
        });
    http.set_logger(
        [impl](const httplib::Request& req, const httplib::Response& res) { impl->log_request(req, res); });
}

Server::~Server() = default;

std::string Server::bind() {
    if (!impl_->http.bind_to_port(impl_->config.listen_host, impl_->config.listen_port))
        return fmt::format("cannot listen on {}:{} (address in use, not local, or not permitted)",
                           impl_->config.listen_host, impl_->config.listen_port);
    return {};
}

void Server::run() {
    impl_->http.listen_after_bind();
}

void Server::stop() {
    impl_->http.stop();
}

}  // namespace gencontrol::http

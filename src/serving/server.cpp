// The serving core on Boost.Beast over Asio: one event-loop thread owns every connection (accept,
// TLS, strict head parsing, body reading, writing); only Handlers::handle runs on the worker pool.
#include "serving/server.hpp"

#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "serving/log.hpp"
#include "serving/text.hpp"

namespace gencontrol::serving {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Read in small steps: an idle or slow connection never holds more than this beyond its head.
constexpr std::size_t kReadChunk = 4096;
// After refusing a request whose body was not read, the core reads and drops at most this much
// for at most kLingerTime before closing, so the client sees the answer instead of a reset.
constexpr std::size_t kLingerBytes = 256 * 1024;
constexpr auto kLingerTime = std::chrono::seconds(2);

std::string error_body(std::string_view message) {
    return nlohmann::json{{"msg", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Reply core_reply(int status, std::string message) {
    Reply reply;
    reply.status = status;
    reply.body = error_body(message);
    reply.log_message = std::move(message);
    reply.close = true;  // after a framing error the stream's position is unknown
    return reply;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// Paths and methods in log lines: whole up to 120 bytes.
std::string shorten(std::string_view text) {
    return shortened(text, 120);
}

// Obsolete line folding (a header line that starts with a space or tab) in the head that `data`
// begins with. Beast would join the lines; a proxy in front may not, so it is refused.
bool has_obs_fold(std::string_view data) {
    auto end = data.find("\r\n\r\n");
    std::string_view head = data.substr(0, end == std::string_view::npos ? data.size() : end + 2);
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2))
        if (at + 2 < head.size() && (head[at + 2] == ' ' || head[at + 2] == '\t')) return true;
    return false;
}

// The rules for a request head that Beast leaves to us; returns the refusal, empty when the head
// is fine. Framing: Beast accepts an equal repeated Content-Length and Transfer-Encoding codings
// other than chunked. Fields read once: RFC 9112 wants exactly one Host on HTTP/1.1, and two
// Authorization fields would let a proxy check one token while a program acts on the other.
std::string head_error(const http::request_header<>& fields) {
    auto hosts = fields.count(http::field::host);
    if (hosts > 1) return "repeated Host";
    if (hosts == 0 && fields.version() >= 11) return "missing Host (HTTP/1.1 requires one)";
    if (fields.count(http::field::authorization) > 1) return "repeated Authorization";
    auto lengths = fields.count(http::field::content_length);
    auto encodings = fields.count(http::field::transfer_encoding);
    if (lengths > 1) return "repeated Content-Length";
    if (encodings > 1) return "repeated Transfer-Encoding";
    if (lengths && encodings) return "Content-Length together with Transfer-Encoding";
    if (lengths) {
        auto value = fields[http::field::content_length];
        if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos)
            return "Content-Length is not a plain decimal number";
    }
    if (encodings && !iequals(fields[http::field::transfer_encoding], "chunked"))
        return "only Transfer-Encoding: chunked is accepted";
    return {};
}

// The status for a Beast parse error.
std::pair<int, std::string> parse_refusal(const beast::error_code& ec) {
    if (ec == http::error::header_limit) return {431, "request headers too large"};
    if (ec == http::error::body_limit) return {413, "request body too large"};
    if (ec == http::error::bad_content_length) return {400, "invalid or conflicting Content-Length"};
    if (ec == http::error::bad_transfer_encoding) return {400, "invalid or conflicting Transfer-Encoding"};
    return {400, "malformed HTTP request: " + ec.message()};
}

}  // namespace

struct Server::Impl {
    Impl(Options o, Handlers h) : options(std::move(o)), handlers(std::move(h)), workers(options.worker_threads) {}

    Options options;
    Handlers handlers;
    asio::io_context loop{1};
    asio::thread_pool workers;
    tcp::acceptor acceptor{loop};
    asio::steady_timer accept_retry{loop};
    bool accept_paused = false;  // loop thread only
    bool stopping = false;       // loop thread only
    std::atomic<std::size_t> open{0};

    struct SessionBase {
        virtual ~SessionBase() = default;
        virtual void stop_if_idle() = 0;
    };
    std::unordered_set<SessionBase*> sessions;  // loop thread only

    std::mutex tls_mutex;
    std::shared_ptr<ssl::context> tls;  // guarded by tls_mutex; the one new handshakes use

    template <class Stream>
    class Session;

    std::string load_tls(std::shared_ptr<ssl::context>& out) {
        if (!options.tls) return "TLS is not configured";
        try {
            auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
            context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                 ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                                 ssl::context::single_dh_use);
            context->use_certificate_chain_file(options.tls->cert_chain_path);
            context->use_private_key_file(options.tls->key_path, ssl::context::pem);
            if (SSL_CTX_check_private_key(context->native_handle()) != 1)
                return "the TLS key does not match the certificate";
            out = std::move(context);
            return {};
        } catch (const std::exception& e) {
            return fmt::format("cannot load TLS files {} and {}: {}", options.tls->cert_chain_path,
                               options.tls->key_path, e.what());
        }
    }

    void accept();
    void on_session_closed() {
        --open;
        if (accept_paused && !stopping && open < options.limits.max_connections) {
            accept_paused = false;
            accept();
        }
    }
};

// One client connection, from accept to close. Every member is touched on the loop thread only;
// a worker reads request_ while handle runs, and the loop leaves the session alone meanwhile.
template <class Stream>
class Server::Impl::Session : public Server::Impl::SessionBase,
                              public std::enable_shared_from_this<Session<Stream>> {
public:
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

    template <class... Args>
    Session(Impl& server, tcp::socket socket, Args&&... args)
        : server_(server),
          stream_(std::move(socket), std::forward<Args>(args)...),
          idle_timer_(server.loop) {
        beast::error_code ec;
        auto endpoint = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
        if (!ec) peer_ = fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
        server_.sessions.insert(this);
    }
    ~Session() override {
        server_.sessions.erase(this);
        server_.on_session_closed();
    }

    void start(std::shared_ptr<ssl::context> tls = nullptr) {
        if constexpr (kTls) {
            tls_ = std::move(tls);
            lowest().expires_after(server_.options.limits.header_timeout);
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](beast::error_code ec) {
                                        if (ec) return self->close_now();
                                        self->wait_request();
                                    });
        } else {
            wait_request();
        }
    }

    void stop_if_idle() override {
        if (!in_flight_) close_now();
    }

private:
    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

    // Between requests: wait for the next one's first byte without holding a buffer.
    void wait_request() {
        if (server_.stopping) return close_now();
        in_flight_ = false;
        head_.reset();
        body_.reset();
        request_ = Request{};
        if (buffer_.size() > 0) return begin_head(false);  // pipelined: already here
        buffer_.shrink_to_fit();
        if constexpr (kTls) {
            // The TLS engine may hold decrypted bytes the socket no longer signals: read directly.
            begin_head(true);
        } else {
            idle_timer_.expires_after(server_.options.limits.idle_timeout);
            idle_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
                if (!ec) self->close_now();
            });
            lowest().socket().async_wait(tcp::socket::wait_read,
                                         [self = this->shared_from_this()](beast::error_code ec) {
                                             self->idle_timer_.cancel();
                                             if (ec) return self->close_now();
                                             self->begin_head(false);
                                         });
        }
    }

    void begin_head(bool first_read_is_idle) {
        if (server_.stopping && buffer_.size() == 0) return close_now();
        head_.emplace();
        keep_alive_ = head_only_ = has_body_ = false;  // nothing carries over from the last request
        head_->header_limit(static_cast<std::uint32_t>(server_.options.limits.max_header_bytes));
        // Beast checks a Content-Length against this while parsing the head (its default is 1 MiB).
        head_->body_limit(server_.options.limits.max_body_bytes);
        request_.received = Clock::now();
        request_.peer = peer_;
        head_deadline_ = request_.received + server_.options.limits.header_timeout;
        if (first_read_is_idle) {
            read_head(Clock::now() + server_.options.limits.idle_timeout, true);
        } else {
            parse_head();
        }
    }

    void parse_head() {
        if (buffer_.size() > 0) {
            auto data = beast::buffers_front(buffer_.data());
            std::string_view bytes(static_cast<const char*>(data.data()), data.size());
            if (has_obs_fold(bytes)) return refuse(core_reply(400, "obsolete line folding in the request head"));
            beast::error_code ec;
            std::size_t used = head_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (!ec && head_->is_header_done()) return on_head();
            if (ec && ec != http::error::need_more) return refuse(parse_error_reply(ec));
            if (buffer_.size() >= server_.options.limits.max_header_bytes)
                return refuse(core_reply(431, "request headers too large"));
        }
        read_head(head_deadline_, false);
    }

    void read_head(Clock::time_point deadline, bool idle) {
        lowest().expires_at(deadline);
        stream_.async_read_some(buffer_.prepare(kReadChunk), [self = this->shared_from_this(), idle](
                                                                 beast::error_code ec, std::size_t n) {
            if (ec) {
                // A timeout with part of a head is a slow client: 408. Idle or gone: just close.
                if (ec == beast::error::timeout && !idle && self->buffer_.size() > 0)
                    return self->refuse(core_reply(408, "the request head did not arrive in time"));
                return self->close_now();
            }
            self->buffer_.commit(n);
            if (idle) {
                self->request_.received = Clock::now();
                self->head_deadline_ = self->request_.received + self->server_.options.limits.header_timeout;
            }
            self->parse_head();
        });
    }

    Reply parse_error_reply(const beast::error_code& ec) const {
        auto [status, why] = parse_refusal(ec);
        if (status == 413) why = fmt::format("request body larger than {} bytes", server_.options.limits.max_body_bytes);
        return core_reply(status, why);
    }

    void fill_request(const http::request_header<>& h) {
        request_.method = h.method_string();
        std::string_view target = h.target();
        auto q = target.find('?');
        request_.path = target.substr(0, q);
        request_.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
        fields_ = &h;
        request_.header = [this](std::string_view name) -> std::optional<std::string_view> {
            auto it = fields_->find(name);
            if (it == fields_->end()) return std::nullopt;
            return std::string_view(it->value());
        };
    }

    void on_head() {
        const auto& message = head_->get();
        fill_request(message);
        if (auto why = head_error(message); !why.empty()) return refuse(core_reply(400, why));
        keep_alive_ = message.keep_alive();
        head_only_ = message.method() == http::verb::head;
        auto length = head_->content_length();
        bool chunked = head_->chunked();
        has_body_ = chunked || (length && *length > 0);
        if (length && *length > server_.options.limits.max_body_bytes) return refuse(parse_error_reply(http::error::body_limit));

        if (server_.handlers.head) {
            std::optional<Reply> early;
            try {
                early = server_.handlers.head(request_);
            } catch (const std::exception& e) {
                log::error("request head handler failed", {{"path", shorten(request_.path)}, {"error", e.what()}});
                early = core_reply(500, "internal error");
            } catch (...) {
                log::error("request head handler failed", {{"path", shorten(request_.path)}});
                early = core_reply(500, "internal error");
            }
            if (early) {
                // The body was never read, so the connection cannot carry another request.
                if (has_body_) early->close = true;
                return send(std::move(*early));
            }
        }
        if (!has_body_) return dispatch();

        body_.emplace(std::move(*head_));
        head_.reset();
        body_->body_limit(server_.options.limits.max_body_bytes);
        fill_request(body_->get());
        auto expect = body_->get()[http::field::expect];
        if (iequals(expect, "100-continue")) {
            // curl waits for this before sending a body; the head has passed every check.
            static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            lowest().expires_after(server_.options.limits.body_timeout);
            asio::async_write(stream_, asio::buffer(kContinue),
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                  if (ec) return self->close_now();
                                  self->read_body();
                              });
            return;
        }
        read_body();
    }

    void read_body() {
        lowest().expires_after(server_.options.limits.body_timeout);
        http::async_read(stream_, buffer_, *body_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec == beast::error::timeout) return self->refuse(core_reply(408, "the request body did not arrive in time"));
            if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
                return self->close_now();
            if (ec) return self->refuse(self->parse_error_reply(ec));
            self->fill_request(self->body_->get());
            self->request_.body = self->body_->get().body();
            self->dispatch();
        });
    }

    void dispatch() {
        in_flight_ = true;
        if (server_.handlers.take && take()) return;
        // The loop keeps running while a worker holds the request, even with nothing else to do
        // (stop() with one request in flight): its answer is still to be written.
        asio::post(server_.workers, [self = this->shared_from_this(),
                                     work = asio::make_work_guard(server_.loop)]() mutable {
            Reply reply;
            try {
                reply = self->server_.handlers.handle(self->request_);
            } catch (const std::exception& e) {
                log::error("request failed", {{"path", shorten(self->request_.path)}, {"error", e.what()}});
                reply = core_reply(500, "internal error");
                reply.close = false;
            } catch (...) {
                log::error("request failed", {{"path", shorten(self->request_.path)}});
                reply = core_reply(500, "internal error");
                reply.close = false;
            }
            // The session's last reference travels back to the loop, so it is destroyed there.
            auto& loop = self->server_.loop;
            asio::post(loop, [self = std::move(self), reply = std::move(reply)]() mutable {
                self->send(std::move(reply));
            });
            work.reset();
        });
    }

    // Offers the request to Handlers::take; true when the program took it over. The answer comes
    // back through the loop, which the work guard keeps running until then.
    bool take() {
        struct Pending {
            std::shared_ptr<Session> self;
            std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
            std::atomic<bool> answered{false};
        };
        auto pending = std::make_shared<Pending>();
        pending->self = this->shared_from_this();
        pending->work.emplace(server_.loop.get_executor());
        Respond respond = [pending](Reply reply) {
            if (pending->answered.exchange(true)) return;
            auto& loop = pending->self->server_.loop;
            // The session's last reference travels to the loop, so it is destroyed there.
            asio::post(loop, [self = std::move(pending->self), reply = std::move(reply)]() mutable {
                self->send(std::move(reply));
            });
            pending->work.reset();
        };
        try {
            if (server_.handlers.take(request_, respond)) return true;
        } catch (const std::exception& e) {
            log::error("request failed", {{"path", shorten(request_.path)}, {"error", e.what()}});
            Reply reply = core_reply(500, "internal error");
            reply.close = false;
            respond(std::move(reply));
            return true;
        }
        // Not taken: nothing holds `respond`, and `handle` answers instead.
        pending->answered = true;
        pending->work.reset();
        pending->self.reset();
        return false;
    }

    // A refusal by the core itself: the body (if any) is left unread, so the connection closes.
    void refuse(Reply reply) {
        reply.close = true;
        send(std::move(reply));
    }

    void send(Reply reply) {
        reply_ = std::move(reply);
        bool close = reply_.close || !keep_alive_ || server_.stopping;
        response_ = {};
        response_.version(11);
        response_.result(static_cast<unsigned>(reply_.status));
        response_.set(http::field::content_type, reply_.content_type);
        for (const auto& [name, value] : reply_.headers) response_.set(name, value);
        if (head_only_) {
            response_.set(http::field::content_length, std::to_string(reply_.body.size()));
        } else {
            response_.body() = reply_.body;
            response_.prepare_payload();
        }
        response_.keep_alive(!close);
        close_after_write_ = close;
        observe();
        lowest().expires_after(server_.options.limits.body_timeout);
        http::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            self->response_ = {};
            self->reply_ = {};
            if (ec) return self->close_now();
            if (self->close_after_write_) return self->close_gracefully();
            self->wait_request();
        });
    }

    void observe() {
        auto elapsed = Clock::now() - (request_.received == Clock::time_point{} ? Clock::now() : request_.received);
        if (server_.handlers.observe) {
            try {
                server_.handlers.observe(request_, reply_, elapsed);
            } catch (const std::exception& e) {
                log::error("observe failed", {{"error", e.what()}});
            }
        }
        LogLevel level = reply_.status >= 400 ? LogLevel::warn : LogLevel::debug;
        if (!log::enabled(level)) return;
        log::Fields fields = {{"method", shorten(request_.method)},
                              {"path", shorten(request_.path)},
                              {"status", reply_.status},
                              {"duration_ms", std::round(std::chrono::duration<double>(elapsed).count() * 1e6) / 1e3},
                              {"remote", peer_}};
        if (!reply_.log_message.empty()) fields.emplace_back("error", shorten(reply_.log_message));
        log::write(level, "request", fields);
    }

    // Stop sending, drop what the client still sends for a moment, then close: closing with unread
    // bytes would reset the connection and could destroy the answer before the client reads it.
    void close_gracefully() {
        if constexpr (kTls) {
            lowest().expires_after(std::chrono::seconds(1));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close_now(); });
        } else {
            beast::error_code ec;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
            if (ec) return close_now();
            linger_deadline_ = Clock::now() + kLingerTime;
            linger_left_ = kLingerBytes;
            linger();
        }
    }

    void linger() {
        buffer_.clear();
        lowest().expires_at(linger_deadline_);
        lowest().async_read_some(buffer_.prepare(kReadChunk),
                                 [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                                     if (ec || n >= self->linger_left_) return self->close_now();
                                     self->linger_left_ -= n;
                                     self->linger();
                                 });
    }

    void close_now() {
        idle_timer_.cancel();
        beast::error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().socket().close(ec);
    }

    Impl& server_;
    Stream stream_;
    std::shared_ptr<ssl::context> tls_;  // keeps the context this session's TLS was made from
    asio::steady_timer idle_timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> head_;
    std::optional<http::request_parser<http::string_body>> body_;
    const http::request_header<>* fields_ = nullptr;
    Request request_;
    Reply reply_;
    http::response<http::string_body> response_;
    std::string peer_;
    Clock::time_point head_deadline_{};
    Clock::time_point linger_deadline_{};
    std::size_t linger_left_ = 0;
    bool in_flight_ = false;  // handle is running or its answer is being written: stop() waits
    bool keep_alive_ = false;
    bool head_only_ = false;
    bool has_body_ = false;
    bool close_after_write_ = false;
};

void Server::Impl::accept() {
    if (stopping || !acceptor.is_open()) return;
    if (open >= options.limits.max_connections) {
        accept_paused = true;  // the kernel's backlog holds new ones until a connection closes
        return;
    }
    acceptor.async_accept(loop, [this](beast::error_code ec, tcp::socket socket) {
        if (ec) {
            if (ec == asio::error::operation_aborted || stopping) return;
            // Out of descriptors or memory: wait a little instead of spinning on the error.
            log::warn("accept failed", {{"error", ec.message()}});
            accept_retry.expires_after(std::chrono::milliseconds(100));
            accept_retry.async_wait([this](beast::error_code e) {
                if (!e) accept();
            });
            return;
        }
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        ++open;
        std::shared_ptr<ssl::context> context;
        if (options.tls) {
            std::lock_guard lock(tls_mutex);
            context = tls;
        }
        if (context) {
            auto session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket),
                                                                                           *context);
            session->start(std::move(context));
        } else {
            std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket))->start();
        }
        accept();
    });
}

Server::Server(Options options, Handlers handlers)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handlers))) {}

Server::~Server() {
    impl_->workers.join();
}

std::string Server::bind() {
    Impl& impl = *impl_;
    if (impl.options.tls) {
        if (auto error = impl.load_tls(impl.tls); !error.empty()) return error;
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(impl.options.host, ec);
    if (ec) return fmt::format("cannot listen on {}: not an IP address", impl.options.host);
    tcp::endpoint endpoint(address, static_cast<unsigned short>(impl.options.port));
    impl.acceptor.open(endpoint.protocol(), ec);
    // Only SO_REUSEADDR: SO_REUSEPORT would let a second server share the port unnoticed.
    if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl.acceptor.bind(endpoint, ec);
    if (!ec) impl.acceptor.listen(4096, ec);
    if (ec)
        return fmt::format("cannot listen on {}:{}: {}", impl.options.host, impl.options.port, ec.message());
    return {};
}

int Server::port() const {
    beast::error_code ec;
    auto endpoint = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

std::size_t Server::connections() const {
    return impl_->open;
}

void Server::run() {
    Impl& impl = *impl_;
    asio::post(impl.loop, [&impl] { impl.accept(); });
    for (;;) {
        try {
            impl.loop.run();
            break;
        } catch (const std::exception& e) {
            // A handler bug must not take every other connection down with it.
            log::error("event loop error", {{"error", e.what()}});
        }
    }
    impl.workers.join();
}

void Server::stop() {
    Impl& impl = *impl_;
    asio::post(impl.loop, [&impl] {
        if (impl.stopping) return;
        impl.stopping = true;
        beast::error_code ec;
        impl.acceptor.close(ec);
        impl.accept_retry.cancel();
        // Requests in flight finish and then close; idle connections close now.
        std::vector<Impl::SessionBase*> idle(impl.sessions.begin(), impl.sessions.end());
        for (auto* session : idle) session->stop_if_idle();
    });
}

boost::asio::io_context& Server::loop() {
    return impl_->loop;
}

std::string Server::reload_tls() {
    std::shared_ptr<ssl::context> fresh;
    if (auto error = impl_->load_tls(fresh); !error.empty()) return error;
    std::lock_guard lock(impl_->tls_mutex);
    impl_->tls = std::move(fresh);
    return {};
}

std::size_t raise_fd_limit(std::size_t wanted) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < wanted && limit.rlim_cur != RLIM_INFINITY) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min<rlim_t>(wanted, limit.rlim_max);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return static_cast<std::size_t>(limit.rlim_cur);
}

}  // namespace gencontrol::serving

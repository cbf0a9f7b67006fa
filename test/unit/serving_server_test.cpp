// The serving core over real loopback sockets: pipelining, strict framing (every smuggling variant
// is 400, closes, and runs no handler), refusals before the body is read, and the size limits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "serving/metrics.hpp"
#include "serving/server.hpp"

namespace gencontrol::serving {
namespace {

struct Answer {
    int status = 0;
    std::string headers;
    std::string body;
};

class CoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        Options options;
        options.port = 0;
        options.limits.max_body_bytes = 1000;
        options.worker_threads = 2;
        Handlers handlers;
        handlers.head = [](Request& request) -> std::optional<Reply> {
            if (request.path == "/secret" && !request.header("Authorization"))
                return Reply{401, R"({"msg":"Unauthorized"})", "application/json", {}, "no token", false};
            return std::nullopt;
        };
        handlers.handle = [this](const Request& request) {
            ++handled_;
            Reply reply;
            reply.body = std::string(request.method) + " " + std::string(request.path) + " " +
                         std::to_string(request.body.size());
            reply.content_type = "text/plain";
            return reply;
        };
        // Paths under /later are taken over and answered 20 ms later from another thread, as the
        // shim answers validates from its call threads; everything else goes on to `handle`.
        handlers.take = [this](const Request& request, const Respond& respond) {
            if (request.path.substr(0, 6) != "/later") return false;
            ++taken_;
            std::thread([respond, text = std::string(request.path) + " " + std::to_string(request.body.size())] {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                Reply reply;
                reply.body = "taken " + text;
                reply.content_type = "text/plain";
                respond(reply);
            }).detach();
            return true;
        };
        server_ = std::make_unique<Server>(options, handlers);
        ASSERT_EQ(server_->bind(), "");
        thread_ = std::thread([this] { server_->run(); });
    }
    void TearDown() override {
        server_->stop();
        thread_.join();
    }

    int connect_client() {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<uint16_t>(server_->port()));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        timeval timeout{10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        return fd;
    }

    static void send_all(int fd, const std::string& data) {
        std::size_t sent = 0;
        while (sent < data.size()) {
            ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return;
            sent += static_cast<std::size_t>(n);
        }
    }

    // Reads answers until `count` are complete or the connection ends; `closed` tells which.
    static std::vector<Answer> read_answers(int fd, std::size_t count, bool* closed = nullptr) {
        std::string data;
        std::vector<Answer> answers;
        char chunk[4096];
        bool eof = false;
        for (;;) {
            for (;;) {
                auto end = data.find("\r\n\r\n");
                if (end == std::string::npos) break;
                Answer a;
                a.status = std::stoi(data.substr(9, 3));
                a.headers = data.substr(0, end + 2);
                std::size_t length = 0;
                auto at = a.headers.find("Content-Length: ");
                if (at != std::string::npos) length = std::stoul(a.headers.substr(at + 16));
                if (a.status == 100) length = 0;
                if (data.size() < end + 4 + length) break;
                a.body = data.substr(end + 4, length);
                data.erase(0, end + 4 + length);
                if (a.status != 100) answers.push_back(a);
            }
            if (answers.size() >= count && !closed) break;
            ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                eof = n == 0;
                break;
            }
            data.append(chunk, static_cast<std::size_t>(n));
        }
        if (closed) *closed = eof;
        return answers;
    }

    Answer exchange(const std::string& request, bool* closed = nullptr) {
        int fd = connect_client();
        send_all(fd, request);
        auto answers = read_answers(fd, 1, closed);
        ::close(fd);
        return answers.empty() ? Answer{} : answers[0];
    }

    std::unique_ptr<Server> server_;
    std::thread thread_;
    std::atomic<int> handled_{0};
    std::atomic<int> taken_{0};
};

TEST_F(CoreTest, TakenRequestsAreAnsweredFromAnotherThreadInOrder) {
    int fd = connect_client();
    send_all(fd,
             "POST /later/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
             "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /later/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    auto answers = read_answers(fd, 3);
    ::close(fd);
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_EQ(answers[0].body, "taken /later/1 3");
    EXPECT_EQ(answers[1].body, "GET /a 0");
    EXPECT_EQ(answers[2].body, "taken /later/2 0");
    EXPECT_EQ(taken_, 2);
    EXPECT_EQ(handled_, 1);
}

TEST_F(CoreTest, StopStillAnswersATakenRequest) {
    int fd = connect_client();
    send_all(fd, "GET /later/stop HTTP/1.1\r\nHost: x\r\n\r\n");
    for (int i = 0; i < 500 && taken_ == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_EQ(taken_, 1);
    server_->stop();  // before the answer exists: it is still sent, then the connection closes
    bool closed = false;
    auto answers = read_answers(fd, 1, &closed);
    ::close(fd);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].body, "taken /later/stop 0");
    EXPECT_TRUE(closed);
}

TEST_F(CoreTest, PipelinedRequestsAreAllAnsweredInOrder) {
    int fd = connect_client();
    send_all(fd,
             "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
             "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
             "GET /d HTTP/1.1\r\nHost: x\r\n\r\n");
    auto answers = read_answers(fd, 4);
    ::close(fd);
    ASSERT_EQ(answers.size(), 4u);
    EXPECT_EQ(answers[0].body, "GET /a 0");
    EXPECT_EQ(answers[1].body, "POST /b 3");
    EXPECT_EQ(answers[2].body, "POST /c 2");
    EXPECT_EQ(answers[3].body, "GET /d 0");
}

TEST_F(CoreTest, EverySmugglingVariantIs400ClosesAndRunsNothing) {
    const std::string hidden = "POST /hidden HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    const std::vector<std::string> variants = {
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 52\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 52\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n0\r\n\r\n" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: gzip\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
            hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0x2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\nHost: x\nContent-Length: 2\n\nab" + hidden,
        // Fields a proxy and the program must read alike: one Host (RFC 9112), one Authorization.
        "POST /a HTTP/1.1\r\nHost: x\r\nHost: y\r\nContent-Length: 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nab" + hidden,
        "POST /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\nContent-Length: "
        "2\r\n\r\nab" + hidden,
    };
    for (const auto& variant : variants) {
        bool closed = false;
        Answer answer = exchange(variant, &closed);
        EXPECT_EQ(answer.status, 400) << variant;
        EXPECT_TRUE(closed) << variant;
    }
    EXPECT_EQ(handled_, 0);
}

TEST_F(CoreTest, HostIsRequiredOnlyFromHttp11) {
    EXPECT_EQ(exchange("GET /a HTTP/1.0\r\n\r\n").body, "GET /a 0");  // HTTP/1.0 has no Host rule
    Answer missing = exchange("GET /a HTTP/1.1\r\n\r\n");
    EXPECT_EQ(missing.status, 400);
    EXPECT_NE(missing.body.find("missing Host"), std::string::npos) << missing.body;
    EXPECT_EQ(exchange("GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\r\n\r\n").body, "GET /a 0");
    EXPECT_EQ(handled_, 2);
}

TEST_F(CoreTest, HeadPhaseRefusesBeforeTheBodyIsRead) {
    // Only the head is sent: the answer comes without the 900 announced bytes.
    bool closed = false;
    Answer answer = exchange("POST /secret HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n", &closed);
    EXPECT_EQ(answer.status, 401);
    EXPECT_TRUE(closed);
    EXPECT_EQ(handled_, 0);
}

TEST_F(CoreTest, LimitsOnHeadAndBody) {
    EXPECT_EQ(exchange("GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n").status,
              431);
    std::string many;
    for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": " + std::string(40, 'b') + "\r\n";
    EXPECT_EQ(exchange("GET /a HTTP/1.1\r\nHost: x\r\n" + many + "\r\n").status, 431);
    EXPECT_EQ(exchange("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n").status, 413);
    std::string chunked = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i) chunked += "64\r\n" + std::string(100, 'c') + "\r\n";
    EXPECT_EQ(exchange(chunked + "0\r\n\r\n").status, 413);
    EXPECT_EQ(handled_, 0);
    EXPECT_EQ(exchange("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'd'))
                  .body,
              "POST /a 1000");
}

TEST_F(CoreTest, ExpectContinueAndHead) {
    int fd = connect_client();
    send_all(fd, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    char interim[64] = {};
    ssize_t n = ::recv(fd, interim, sizeof interim - 1, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(interim, 25), "HTTP/1.1 100 Continue\r\n\r\n");
    send_all(fd, "xyz");
    auto answers = read_answers(fd, 1);
    ::close(fd);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].body, "POST /a 3");

    fd = connect_client();
    send_all(fd, "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string all;
    char chunk[4096];
    while (all.find("GET /b 0") == std::string::npos && (n = ::recv(fd, chunk, sizeof chunk, 0)) > 0)
        all.append(chunk, static_cast<std::size_t>(n));
    ::close(fd);
    // The HEAD answer announces its length but carries no body: the next answer follows at once.
    EXPECT_NE(all.find("Content-Length: 9\r\n\r\nHTTP/1.1 200"), std::string::npos) << all;
}

TEST(Metrics, LabelValuesAreEscapedAndMethodsBounded) {
    EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    EXPECT_EQ(method_label("GET"), "GET");
    EXPECT_EQ(method_label("X\"}evil{a=\"b"), "other");
    EXPECT_EQ(method_label("get"), "other");
    RequestMetrics metrics("t");
    metrics.observe("/x\"", "BREW", 200, 0.001);
    std::string page;
    metrics.render(page);
    EXPECT_NE(page.find("t_requests_total{route=\"/x\\\"\",method=\"other\",status=\"200\"} 1\n"), std::string::npos)
        << page;
}

}  // namespace
}  // namespace gencontrol::serving

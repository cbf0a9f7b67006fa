// Builds the shim's replies and maps database failures to statuses; the database's own sentence
// is passed on only where it is about the caller's input.
#include "replies.hpp"

#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

#include "json.hpp"

namespace gencontrol::http {

Reply json_reply(int status, std::string body) {
    Reply reply;
    reply.status = status;
    reply.body = std::move(body);
    return reply;
}

Reply error_reply(int status, std::string_view message) {
    Reply reply = json_reply(status, format_error(message));
    reply.log_message = std::string(message.substr(0, 300));
    return reply;
}

std::int64_t db_integer(const DbValue& value) {
    std::int64_t n = 0;
    if (!value) throw std::runtime_error("the database answered NULL where a number was expected");
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec != std::errc() || end != value->data() + value->size())
        throw std::runtime_error("the database answered '" + *value + "' where a number was expected");
    return n;
}

Reply db_error_reply(const DbError& error, int timeout_seconds) {
    auto retry = [](int status, std::string message) {
        Reply reply = error_reply(status, message);
        reply.headers.emplace_back("Retry-After", "1");
        return reply;
    };
    switch (error.kind()) {
        case DbErrorKind::unavailable: return retry(503, std::string("database unavailable: ") + error.what());
        case DbErrorKind::not_primary:
            return retry(503, std::string("the database is not a primary (hot standby or read-only): ") + error.what());
        case DbErrorKind::timeout:
            return retry(503, fmt::format("the database did not answer within {} s", timeout_seconds));
        case DbErrorKind::not_installed:
            return retry(503, std::string("the gencontrol extension is not installed in the database: ") + error.what());
        case DbErrorKind::query: break;
    }
    const std::string& state = error.sqlstate();
    if (state.rfind("22", 0) == 0) return error_reply(400, error.what());
    if (state == "P0002") return error_reply(404, error.what());
    if (state == "55000" || state.rfind("23", 0) == 0) return error_reply(409, error.what());
    // Serialization failures, deadlocks, lock and resource shortages pass: try again.
    if (state == "40001" || state == "40P01" || state == "55P03" || state.rfind("53", 0) == 0)
        return retry(503, std::string("the database asks to retry: ") + error.what());
    Reply reply = error_reply(500, "internal error");
    reply.log_message = fmt::format("database error {}: {}", state, error.what());
    return reply;
}

}  // namespace gencontrol::http

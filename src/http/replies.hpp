// How the shim answers: JSON replies, {"msg": ...} errors that carry their message for the access
// log, and the status each kind of database failure gets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pool.hpp"
#include "serving/server.hpp"

namespace gencontrol::http {

using serving::Reply;

Reply json_reply(int status, std::string body);
// {"msg": message}; the message also goes to the access log (Reply::log_message).
Reply error_reply(int status, std::string_view message);
// The reply for a database failure: 503 + Retry-After when trying again later can help, 400/404/409
// when the database refused the caller's input, 500 (detail logged only) otherwise.
Reply db_error_reply(const DbError& error, int timeout_seconds);

// Parses a decimal column the database produced; throws on anything else (a 500: it cannot happen).
std::int64_t db_integer(const DbValue& value);

}  // namespace gencontrol::http

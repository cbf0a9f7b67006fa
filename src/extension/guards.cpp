// The error bridge's out-of-line half: capturing C++ errors as plain data, raising them.
// Messages are copied into static buffers so capturing never allocates inside a catch block;
// a message too long for its buffer is cut at a character boundary, never inside a character.
#include "guards.hpp"

#include <cstring>

namespace gencontrol::pg {
namespace {

// Backends are single-threaded and raise one error at a time, so one set of buffers serves.
char message_buffer[2048];
char detail_buffer[2048];
char hint_buffer[1024];

void copy_text(char* out, std::size_t size, const char* text) noexcept {
    auto length = static_cast<int>(std::strlen(text));
    // pg_mbcliplen only measures characters of the server encoding; it never raises.
    int kept =
        length < static_cast<int>(size) ? length : pg_mbcliplen(text, length, static_cast<int>(size) - 1);
    std::memcpy(out, text, kept);
    out[kept] = '\0';
}

}  // namespace

void raise(int sqlstate, std::string message, std::string detail, std::string hint) {
    throw SqlError{sqlstate, std::move(message), std::move(detail), std::move(hint)};
}

namespace detail {

void capture(Failure& failure, const SqlError& error) noexcept {
    failure.sqlstate = error.sqlstate;
    copy_text(message_buffer, sizeof message_buffer, error.message.c_str());
    copy_text(detail_buffer, sizeof detail_buffer, error.detail.c_str());
    copy_text(hint_buffer, sizeof hint_buffer, error.hint.c_str());
}

void capture_unexpected(Failure& failure, const char* what) noexcept {
    failure.sqlstate = ERRCODE_INTERNAL_ERROR;
    constexpr char prefix[] = "gencontrol: unexpected C++ error: ";
    std::memcpy(message_buffer, prefix, sizeof prefix);
    copy_text(message_buffer + sizeof prefix - 1, sizeof message_buffer - (sizeof prefix - 1), what);
    detail_buffer[0] = '\0';
    hint_buffer[0] = '\0';
}

void raise_failure(const Failure& failure) {
    if (failure.pg_error) ReThrowError(failure.pg_error);
    ereport(ERROR, (errcode(failure.sqlstate), errmsg_internal("%s", message_buffer),
                    detail_buffer[0] ? errdetail_internal("%s", detail_buffer) : 0,
                    hint_buffer[0] ? errhint("%s", hint_buffer) : 0));
    pg_unreachable();
}

}  // namespace detail
}  // namespace gencontrol::pg

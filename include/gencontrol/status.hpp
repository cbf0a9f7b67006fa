// Errors as values: Status says whether an operation succeeded and why not; Result<T> carries a
// value or a Status. Both are [[nodiscard]], so a caller cannot silently ignore a failure.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace gencontrol::client {

class [[nodiscard]] Status {
public:
    enum class Code {
        kOk,
        kNotFound,         // the object, key or tenant does not exist
        kInvalidArgument,  // the caller passed something malformed
        kCorruption,       // stored data failed a size, checksum or format check
        kIoError,          // the local file system refused
        kUnavailable,      // the generation service did not answer usably; retrying may help
        kCancelled,        // shutdown was requested while waiting
        kConflict,         // the request contradicts state (e.g. a lower generation)
    };

    Status() = default;
    static Status ok() { return {}; }
    static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
    static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
    static Status corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
    static Status io_error(std::string m) { return {Code::kIoError, std::move(m)}; }
    static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
    static Status cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
    static Status conflict(std::string m) { return {Code::kConflict, std::move(m)}; }

    bool is_ok() const { return code_ == Code::kOk; }
    Code code() const { return code_; }
    // A sentence for logs and error replies; empty when ok.
    const std::string& message() const { return message_; }

private:
    Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
    Code code_ = Code::kOk;
    std::string message_;
};

// A value or the Status that explains its absence. value() on a failed Result is a bug.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}
    Result(Status status) : status_(std::move(status)) {}

    bool is_ok() const { return status_.is_ok(); }
    const Status& status() const { return status_; }
    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }

private:
    Status status_;
    std::optional<T> value_;
};

}  // namespace gencontrol::client

// The bridge between C++ exceptions and PostgreSQL's ereport/longjmp error model.
// Every SQL entry point is declared with GENCONTROL_FUNCTION, whose body runs through entry();
// every call into PostgreSQL that may raise an error from C++ code goes through call().
#pragma once

#include "pg.hpp"

#include <string>
#include <utility>

namespace gencontrol::pg {

// A PostgreSQL error caught by call(); entry() re-raises it once every C++ frame has unwound.
struct PgError {
    ErrorData* data;
};

// An error raised by gencontrol's own C++ code, with its SQLSTATE.
struct SqlError {
    int sqlstate;
    std::string message;
    std::string detail;
    std::string hint;
};

[[noreturn]] void raise(int sqlstate, std::string message, std::string detail = {}, std::string hint = {});

// Runs f, which calls PostgreSQL, and turns any ereport(ERROR) into a C++ PgError.
// f itself must not own objects with destructors: a longjmp would skip them.
template <class F>
auto call(F&& f) -> decltype(f()) {
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile error = nullptr;
    if constexpr (std::is_void_v<decltype(f())>) {
        PG_TRY();
        { f(); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller_context);
            error = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (error) throw PgError{error};
    } else {
        decltype(f()) result{};
        PG_TRY();
        { result = f(); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller_context);
            error = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (error) throw PgError{error};
        return result;
    }
}

namespace detail {

// A failure carried out of the C++ frames: plain data only, so raising it skips nothing.
struct Failure {
    ErrorData* pg_error = nullptr;
    int sqlstate = 0;
};

void capture(Failure& failure, const SqlError& error) noexcept;
void capture_unexpected(Failure& failure, const char* what) noexcept;
[[noreturn]] void raise_failure(const Failure& failure);

template <class F>
Datum run(F& body, Failure& failure) noexcept {
    try {
        return body();
    } catch (const PgError& error) {
        failure.pg_error = error.data;
    } catch (const SqlError& error) {
        capture(failure, error);
    } catch (const std::bad_alloc&) {
        capture_unexpected(failure, "out of memory in gencontrol");
    } catch (const std::exception& error) {
        capture_unexpected(failure, error.what());
    } catch (...) {
        capture_unexpected(failure, "unknown C++ exception");
    }
    return Datum(0);
}

}  // namespace detail

// Runs the C++ body of an SQL function. Exceptions are caught here and raised as PostgreSQL
// errors only after the C++ frames that threw them are gone.
template <class F>
Datum entry(F&& body) {
    detail::Failure failure;
    Datum result = detail::run(body, failure);
    if (failure.pg_error || failure.sqlstate) detail::raise_failure(failure);
    return result;
}

}  // namespace gencontrol::pg

// Declares an SQL-callable function with C linkage and its version-1 info record, without the
// guard: only for the type's scalar functions, which run no C++ that can throw.
#define GENCONTROL_UNGUARDED_FUNCTION(name)   \
    extern "C" {                              \
    PGDLLEXPORT Datum name(PG_FUNCTION_ARGS); \
    PG_FUNCTION_INFO_V1(name);                \
    }                                         \
    Datum name(PG_FUNCTION_ARGS)

// Declares an SQL-callable function whose body runs inside gencontrol::pg::entry(): a C++
// exception becomes a PostgreSQL error only after every C++ frame of the body has unwound.
// The body reads its arguments through `fcinfo` as usual (PG_GETARG_*).
#define GENCONTROL_FUNCTION(name)                                                 \
    static Datum name##_body(FunctionCallInfo fcinfo);                            \
    GENCONTROL_UNGUARDED_FUNCTION(name) {                                         \
        return ::gencontrol::pg::entry([fcinfo] { return name##_body(fcinfo); }); \
    }                                                                             \
    static Datum name##_body(FunctionCallInfo fcinfo)

// An internal subtransaction that a writer opens around its locks, so that it can give back a row
// lock it must not keep waiting with (PostgreSQL releases row locks only when a (sub)transaction ends).
#pragma once

#include <optional>
#include <utility>

#include "pg.hpp"

namespace gencontrol {

// BeginInternalSubTransaction on construction; exactly one of release() or rollback() ends it.
// As PL/pgSQL's exception blocks do, the caller's memory context and resource owner are kept
// across both, so SPI plans, tuple tables and memory of the enclosing call stay where they were.
// Locks taken inside (node locks, row locks) pass to the enclosing transaction on release() and
// are given back on rollback(); tuple tables made inside are freed by SPI on rollback.
class Subtransaction {
public:
    Subtransaction();
    Subtransaction(const Subtransaction&) = delete;
    Subtransaction& operator=(const Subtransaction&) = delete;

    void release();
    void rollback();

private:
    MemoryContext context_;
    ResourceOwner owner_;
};

// Runs `attempt` in a subtransaction until it returns a value: std::nullopt means "roll back
// what you did and call me again" (the subtransaction is rolled back, releasing every lock
// taken inside), a value is kept (released into the enclosing transaction) and returned. An
// exception rolls the subtransaction back before it leaves, so that no error ever reaches
// PostgreSQL with our subtransaction still open. `attempt` receives the attempt number (0, 1, ...).
template <class Attempt>
auto retry_in_subtransaction(Attempt&& attempt) -> typename decltype(attempt(0))::value_type {
    for (int number = 0;; ++number) {
        Subtransaction subtransaction;
        try {
            auto result = attempt(number);
            if (result) {
                subtransaction.release();
                return std::move(*result);
            }
        } catch (...) {
            subtransaction.rollback();
            throw;
        }
        subtransaction.rollback();
    }
}

}  // namespace gencontrol

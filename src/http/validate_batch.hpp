// Validate requests that arrive while the database is busy with others share one gen_validate
// call: a few large calls cost the database far less per entry than many 128-entry ones.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

#include "requests.hpp"
#include "metrics.hpp"
#include "pool.hpp"

namespace gencontrol::http {

class ValidateBatcher {
public:
    // At most max_calls gen_validate calls run at once; a call takes every waiting request, up to
    // max_entries entries in all (a larger request goes alone).
    ValidateBatcher(Pool& pool, Metrics& metrics, int max_calls, std::size_t max_entries = 16384);
    ValidateBatcher(const ValidateBatcher&) = delete;
    ValidateBatcher& operator=(const ValidateBatcher&) = delete;

    // The known entries of one request, in request order, with their verdicts; unknown shards are
    // left out. The call that answers starts after this request arrived, so it sees every
    // attach committed before. Throws what Pool::Lease::run throws.
    std::vector<ValidateVerdict> validate(const std::vector<ValidateEntry>& entries);

private:
    struct Waiter;
    std::vector<Waiter*> take_batch();             // with mutex_ held
    void run(const std::vector<Waiter*>& batch);   // sets every member's verdicts or error
    void call(const std::vector<Waiter*>& batch);  // throws

    Pool& pool_;
    Metrics& metrics_;
    const int max_calls_;
    const std::size_t max_entries_;
    std::mutex mutex_;
    std::deque<Waiter*> waiting_;  // guarded by mutex_, oldest first
    int calls_ = 0;                // guarded by mutex_: calls running now
};

}  // namespace gencontrol::http

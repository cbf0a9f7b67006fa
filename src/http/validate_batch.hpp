// Validate requests that arrive while the database is busy with others share one gen_validate
// call: a few large calls cost the database and the shim far less per entry than many small ones.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "requests.hpp"
#include "metrics.hpp"
#include "pool.hpp"

namespace gencontrol::http {

class ValidateBatcher {
public:
    using Verdicts = std::vector<ValidateVerdict>;
    // A request's entries, and the verdicts of its known entries in request order (unknown shards
    // left out) or the error of the call that carried them (what Pool::Lease::run throws).
    using Done = std::function<void(const std::vector<ValidateEntry>&, Verdicts, std::exception_ptr)>;

    // max_calls threads each make one gen_validate call at a time; a call takes every waiting
    // request, up to max_entries entries in all (a larger request goes alone).
    ValidateBatcher(Pool& pool, Metrics& metrics, int max_calls, std::size_t max_entries = 16384);
    // Answers every request already submitted, then stops the call threads.
    ~ValidateBatcher();
    ValidateBatcher(const ValidateBatcher&) = delete;
    ValidateBatcher& operator=(const ValidateBatcher&) = delete;

    // Queues a request and returns at once; `done` runs once, on a call thread, after a call that
    // started after this request was queued, so it sees every attach committed before.
    void submit(std::vector<ValidateEntry> entries, Done done);
    // The same, waiting for the answer; throws the call's error.
    Verdicts validate(const std::vector<ValidateEntry>& entries);

private:
    struct Waiter {
        std::vector<ValidateEntry> entries;
        Done done;
        Verdicts verdicts;
        std::exception_ptr error;
    };
    void serve();                                  // one call thread
    std::vector<Waiter> take_batch();              // with mutex_ held
    void call(std::vector<Waiter>& batch);         // sets every member's verdicts; throws

    Pool& pool_;
    Metrics& metrics_;
    const std::size_t max_entries_;
    std::mutex mutex_;
    std::condition_variable queued_;
    std::deque<Waiter> waiting_;  // guarded by mutex_, oldest first
    bool stopping_ = false;       // guarded by mutex_
    std::vector<std::thread> threads_;
};

}  // namespace gencontrol::http

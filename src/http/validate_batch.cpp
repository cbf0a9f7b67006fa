// Coalescing of concurrent validate requests: requests queue, and each of a few call threads takes
// every queued request, sends their entries as one gen_validate call and hands each its share of
// the answer; no thread waits per request. Answers are exact per request: rows come in input
// order, one per known position, and whether a shard is known depends on its id alone.
#include "validate_batch.hpp"

#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "binary_array.hpp"
#include "generation.hpp"

namespace gencontrol::http {

ValidateBatcher::ValidateBatcher(Pool& pool, Metrics& metrics, int max_calls, std::size_t max_entries)
    : pool_(pool), metrics_(metrics), max_entries_(max_entries) {
    for (int i = 0; i < (max_calls < 1 ? 1 : max_calls); ++i) threads_.emplace_back([this] { serve(); });
}

ValidateBatcher::~ValidateBatcher() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    queued_.notify_all();
    for (auto& thread : threads_) thread.join();
}

void ValidateBatcher::submit(std::vector<ValidateEntry> entries, Done done) {
    {
        std::lock_guard lock(mutex_);
        waiting_.push_back({std::move(entries), std::move(done), {}, nullptr});
    }
    // One thread is enough: a busy one takes the queue when its call ends.
    queued_.notify_one();
}

ValidateBatcher::Verdicts ValidateBatcher::validate(const std::vector<ValidateEntry>& entries) {
    std::mutex mutex;
    std::condition_variable answered;
    bool done = false;
    Verdicts verdicts;
    std::exception_ptr error;
    submit(entries, [&](const std::vector<ValidateEntry>&, Verdicts v, std::exception_ptr e) {
        std::lock_guard lock(mutex);
        verdicts = std::move(v);
        error = e;
        done = true;
        answered.notify_one();
    });
    std::unique_lock lock(mutex);
    answered.wait(lock, [&] { return done; });
    if (error) std::rethrow_exception(error);
    return verdicts;
}

void ValidateBatcher::serve() {
    for (;;) {
        std::vector<Waiter> batch;
        {
            std::unique_lock lock(mutex_);
            queued_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
            if (waiting_.empty()) return;  // stopping, and nothing is left to answer
            batch = take_batch();
        }
        metrics_.count_validate_call(batch.size());
        try {
            call(batch);
        } catch (...) {
            for (Waiter& w : batch) {
                w.verdicts.clear();
                w.error = std::current_exception();
            }
        }
        for (Waiter& w : batch) {
            try {
                w.done(w.entries, std::move(w.verdicts), w.error);
            } catch (...) {
                // A callback only formats and hands the reply over; nothing it throws is ours.
            }
        }
    }
}

std::vector<ValidateBatcher::Waiter> ValidateBatcher::take_batch() {
    std::vector<Waiter> batch;
    std::size_t total = 0;
    while (!waiting_.empty()) {
        Waiter& next = waiting_.front();
        if (!batch.empty() && total + next.entries.size() > max_entries_) break;
        total += next.entries.size();
        batch.push_back(std::move(next));
        waiting_.pop_front();
    }
    // Others still waiting (past max_entries) are for another thread.
    if (!waiting_.empty()) queued_.notify_one();
    return batch;
}

void ValidateBatcher::call(std::vector<Waiter>& batch) {
    std::size_t total = 0;
    for (const Waiter& w : batch) total += w.entries.size();
    auto ids = BinaryArray::tenant_shard_ids(total);
    auto generations = BinaryArray::integers(total);
    for (const Waiter& w : batch) {
        for (const auto& entry : w.entries) {
            ids.add(entry.id);
            // A u32 generation outside 1..2^31-1 was never issued, so it is answered valid:false
            // below. It still goes to the database (as any integer) to learn whether the shard is
            // known: unknown shards must be left out of the answer.
            auto generation = static_cast<std::int64_t>(entry.generation);
            generations.add(static_cast<std::int32_t>(is_valid_generation(generation) ? generation : kMaxGeneration));
        }
    }

    for (Waiter& w : batch) w.verdicts.reserve(w.entries.size());
    // Each row matches the next position, in input order, that holds its id.
    std::size_t waiter = 0, next = 0;
    pool_.acquire().run(Statement::validate, {ids.take(), generations.take()}, [&](const DbRowView& row) {
        std::string_view id = row.value(0);
        if (id.size() != TenantShardId::kSize)
            throw std::runtime_error("gen_validate answered a tenant id of " + std::to_string(id.size()) +
                                     " bytes");
        for (;;) {
            if (waiter == batch.size())
                throw std::runtime_error("gen_validate answered for a tenant out of order");
            const auto& entries = batch[waiter].entries;
            if (next == entries.size()) {
                ++waiter;
                next = 0;
                continue;
            }
            std::uint8_t bytes[TenantShardId::kSize];
            entries[next].id.to_bytes(bytes);
            if (std::memcmp(bytes, id.data(), TenantShardId::kSize) == 0) break;
            ++next;
        }
        const auto& entry = batch[waiter].entries[next];
        bool valid = !row.is_null(1) && row.value(1) == std::string_view("\x01", 1) &&
                     is_valid_generation(static_cast<std::int64_t>(entry.generation));
        batch[waiter].verdicts.push_back({next, valid});
        ++next;
    });
}

}  // namespace gencontrol::http

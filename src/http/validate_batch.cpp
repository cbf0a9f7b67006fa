// Coalescing of concurrent validate requests: the first waiting request that finds a free call
// slot leads, sends every waiting request's entries as one gen_validate call, and hands each its
// share of the answer. Answers are exact per request: rows come in input order, one per known
// position, and whether a shard is known depends on its id alone, so rows map back unambiguously.
#include "validate_batch.hpp"

#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "generation.hpp"

namespace gencontrol::http {

struct ValidateBatcher::Waiter {
    const std::vector<ValidateEntry>& entries;
    std::vector<ValidateVerdict> verdicts;
    std::exception_ptr error;
    bool taken = false;  // a leader has it in its batch
    bool done = false;   // verdicts or error are set
    std::condition_variable wake;
};

ValidateBatcher::ValidateBatcher(Pool& pool, Metrics& metrics, int max_calls, std::size_t max_entries)
    : pool_(pool), metrics_(metrics), max_calls_(max_calls < 1 ? 1 : max_calls), max_entries_(max_entries) {}

std::vector<ValidateVerdict> ValidateBatcher::validate(const std::vector<ValidateEntry>& entries) {
    Waiter self{entries, {}, nullptr, false, false, {}};
    std::unique_lock lock(mutex_);
    waiting_.push_back(&self);
    while (!self.done) {
        if (self.taken || calls_ >= max_calls_ || waiting_.front() != &self) {
            self.wake.wait(lock);
            continue;
        }
        // The oldest waiting request with a free call slot leads.
        std::vector<Waiter*> batch = take_batch();
        ++calls_;
        // Others still waiting may lead too while slots are free.
        if (!waiting_.empty() && calls_ < max_calls_) waiting_.front()->wake.notify_one();
        lock.unlock();
        run(batch);
        lock.lock();
        --calls_;
        for (Waiter* w : batch) {
            w->done = true;
            if (w != &self) w->wake.notify_one();
        }
        if (!waiting_.empty()) waiting_.front()->wake.notify_one();
    }
    if (self.error) std::rethrow_exception(self.error);
    return std::move(self.verdicts);
}

std::vector<ValidateBatcher::Waiter*> ValidateBatcher::take_batch() {
    std::vector<Waiter*> batch;
    std::size_t total = 0;
    while (!waiting_.empty()) {
        Waiter* next = waiting_.front();
        if (!batch.empty() && total + next->entries.size() > max_entries_) break;
        total += next->entries.size();
        next->taken = true;
        batch.push_back(next);
        waiting_.pop_front();
    }
    return batch;
}

void ValidateBatcher::run(const std::vector<Waiter*>& batch) {
    metrics_.count_validate_call(batch.size());
    try {
        call(batch);
    } catch (...) {
        for (Waiter* w : batch) {
            w->verdicts.clear();
            w->error = std::current_exception();
        }
    }
}

void ValidateBatcher::call(const std::vector<Waiter*>& batch) {
    // Array literals need no quoting: ids are hex digits and '-', generations are digits.
    std::size_t total = 0;
    for (const Waiter* w : batch) total += w->entries.size();
    std::string id_array = "{";
    std::string generation_array = "{";
    id_array.reserve(total * (TenantShardId::kMaxTextLength + 1) + 2);
    generation_array.reserve(total * 11 + 2);
    char text[TenantShardId::kMaxTextLength];
    for (const Waiter* w : batch) {
        for (const auto& entry : w->entries) {
            if (id_array.size() > 1) {
                id_array += ',';
                generation_array += ',';
            }
            id_array.append(text, entry.id.write_text(text));
            // A u32 generation outside 1..2^31-1 was never issued, so it is answered valid:false
            // below. It still goes to the database (as any integer) to learn whether the shard is
            // known: unknown shards must be left out of the answer.
            auto generation = static_cast<std::int64_t>(entry.generation);
            generation_array += std::to_string(is_valid_generation(generation) ? generation : kMaxGeneration);
        }
    }
    id_array += '}';
    generation_array += '}';

    for (Waiter* w : batch) w->verdicts.reserve(w->entries.size());
    // Each row matches the next position, in input order, that holds its id.
    std::size_t waiter = 0, next = 0;
    pool_.acquire().run(Statement::validate, {id_array, generation_array}, [&](const DbRowView& row) {
        std::string_view id = row.value(0);
        if (id.size() != TenantShardId::kSize)
            throw std::runtime_error("gen_validate answered a tenant id of " + std::to_string(id.size()) +
                                     " bytes");
        for (;;) {
            if (waiter == batch.size())
                throw std::runtime_error("gen_validate answered for a tenant out of order");
            const auto& entries = batch[waiter]->entries;
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
        const auto& entry = batch[waiter]->entries[next];
        bool valid = !row.is_null(1) && row.value(1) == std::string_view("\x01", 1) &&
                     is_valid_generation(static_cast<std::int64_t>(entry.generation));
        batch[waiter]->verdicts.push_back({next, valid});
        ++next;
    });
}

}  // namespace gencontrol::http

// The persisted deletion queue: lists of keys written crash-safely under {workdir}/deletion/,
// validated in one batched call per flush, run or dropped, and recovered by Neon's rules.
#include "gencontrol/deletion_queue.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "durable_file.hpp"

namespace gencontrol::client {

struct DeletionQueue::List {
    std::uint64_t sequence = 0;
    // tenant shard -> (generation that scheduled the keys, keys)
    std::map<std::string, std::pair<Generation, std::vector<std::string>>> tenants;
    bool validated = false;

    std::uint64_t keys() const {
        std::uint64_t n = 0;
        for (const auto& [_, entry] : tenants) n += entry.second.size();
        return n;
    }
};

namespace {

constexpr int kFormatVersion = 1;
constexpr std::size_t kDeleteBatch = 1000;  // S3's DeleteObjects limit; a local store does not care

std::string list_name(std::uint64_t sequence) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx-01.list", static_cast<unsigned long long>(sequence));
    return buf;
}

}  // namespace

DeletionQueue::DeletionQueue(std::string dir, ObjectStore& store, GenerationClient* generations)
    : dir_(std::move(dir)), store_(store), generations_(generations) {}

Result<std::unique_ptr<DeletionQueue>> DeletionQueue::open(const std::string& workdir, ObjectStore& store,
                                                           GenerationClient* generations) {
    std::unique_ptr<DeletionQueue> queue(new DeletionQueue(workdir + "/deletion", store, generations));
    if (auto s = make_directories(queue->dir_); !s.is_ok()) return s;

    auto header = read_whole_file(queue->dir_ + "/header-01");
    if (header.is_ok()) {
        auto doc = nlohmann::json::parse(header.value(), nullptr, false);
        if (doc.is_discarded() || !doc.contains("validated_sequence") ||
            !doc["validated_sequence"].is_number_unsigned()) {
            return Status::corruption(queue->dir_ + "/header-01 is malformed");
        }
        queue->validated_sequence_ = doc["validated_sequence"].get<std::uint64_t>();
    } else if (header.status().code() != Status::Code::kNotFound) {
        return header.status();
    }

    DIR* d = ::opendir(queue->dir_.c_str());
    if (d == nullptr) return Status::io_error("cannot list " + queue->dir_);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name.size() == 24 && name.ends_with("-01.list")) names.push_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        auto bytes = read_whole_file(queue->dir_ + "/" + name);
        if (!bytes.is_ok()) return bytes.status();
        auto doc = nlohmann::json::parse(bytes.value(), nullptr, false);
        auto list = std::make_shared<List>();
        try {
            if (doc.is_discarded()) throw std::runtime_error("not JSON");
            list->sequence = doc.at("sequence").get<std::uint64_t>();
            for (const auto& [tenant, entry] : doc.at("tenants").items()) {
                list->tenants[tenant] = {entry.at("generation").get<Generation>(),
                                         entry.at("objects").get<std::vector<std::string>>()};
            }
        } catch (const std::exception& e) {
            // Lists are written atomically, so this is not a torn write: refuse to guess.
            return Status::corruption(queue->dir_ + "/" + name + " is malformed: " + e.what());
        }
        queue->next_sequence_ = std::max(queue->next_sequence_, list->sequence + 1);
        // Counted as submitted in this process too, so dropping or running it never makes the
        // counters disagree (dropped above submitted after a restart).
        queue->counters_.submitted += list->keys();
        queue->lists_.push_back(std::move(list));
    }
    queue->next_sequence_ = std::max(queue->next_sequence_, queue->validated_sequence_ + 1);
    return queue;
}

Status DeletionQueue::push(const std::string& tenant_shard_id, Generation generation,
                           const std::vector<std::string>& keys) {
    if (keys.empty()) return Status::ok();
    std::lock_guard lock(mutex_);
    auto list = std::make_shared<List>();
    list->sequence = next_sequence_;
    list->tenants[tenant_shard_id] = {generation, keys};
    if (auto s = write_file_durably(dir_ + "/" + list_name(list->sequence), encode_list(*list)); !s.is_ok())
        return s;
    ++next_sequence_;
    lists_.push_back(std::move(list));
    counters_.submitted += keys.size();
    return Status::ok();
}

void DeletionQueue::discard(std::uint64_t keys) {
    std::lock_guard lock(mutex_);
    counters_.submitted += keys;
    counters_.dropped += keys;
}

Status DeletionQueue::write_header(std::uint64_t validated_sequence) {
    nlohmann::json doc = {{"version", kFormatVersion}, {"validated_sequence", validated_sequence}};
    return write_file_durably(dir_ + "/header-01", doc.dump());
}

Status DeletionQueue::recover(const std::map<std::string, Generation>& attached) {
    std::lock_guard flush_lock(flush_mutex_);
    std::vector<std::shared_ptr<List>> lists;
    {
        std::lock_guard lock(mutex_);
        lists = lists_;
    }
    for (auto& list : lists) {
        if (list->sequence <= validated_sequence_) {
            // Validated before the crash: its generation was current then, which is all that matters.
            list->validated = true;
            std::lock_guard lock(mutex_);
            counters_.validated += list->keys();
            continue;
        }
        for (auto& [tenant, entry] : list->tenants) {
            auto held = attached.find(tenant);
            // Our own re-attach moved the shard up by exactly one: the list is ours and still good.
            if (held != attached.end() && entry.first != kNoGeneration && entry.first + 1 == held->second) {
                entry.first = held->second;
            }
        }
    }
    for (auto& list : lists) {
        if (!list->validated) continue;
        if (auto s = execute(*list); !s.is_ok()) return s;
    }
    return Status::ok();
}

Status DeletionQueue::execute(const List& list) {
    std::vector<std::string> keys;
    for (const auto& [_, entry] : list.tenants)
        keys.insert(keys.end(), entry.second.begin(), entry.second.end());
    for (std::size_t i = 0; i < keys.size(); i += kDeleteBatch) {
        std::vector<std::string> batch(keys.begin() + i,
                                       keys.begin() + std::min(keys.size(), i + kDeleteBatch));
        if (auto s = store_.delete_objects(batch); !s.is_ok()) return s;
    }
    if (auto s = remove_file_durably(dir_ + "/" + list_name(list.sequence)); !s.is_ok()) return s;
    std::lock_guard lock(mutex_);
    counters_.executed += keys.size();
    lists_.erase(std::remove_if(lists_.begin(), lists_.end(),
                                [&](const auto& l) { return l->sequence == list.sequence; }),
                 lists_.end());
    return Status::ok();
}

Status DeletionQueue::flush(bool execute_lists) {
    std::lock_guard flush_lock(flush_mutex_);
    std::vector<std::shared_ptr<List>> lists;
    {
        std::lock_guard lock(mutex_);
        lists = lists_;
    }
    if (!execute_lists) return Status::ok();

    // One validate for everything pending: per shard, the highest generation that scheduled keys.
    std::map<std::string, Generation> checked;
    for (const auto& list : lists) {
        if (list->validated) continue;
        for (const auto& [tenant, entry] : list->tenants) {
            auto& g = checked[tenant];
            g = std::max(g, entry.first);
        }
    }
    std::map<std::string, bool> valid;
    if (!checked.empty()) {
        if (generations_ == nullptr) {
            for (const auto& [tenant, _] : checked) valid[tenant] = true;
        } else {
            std::vector<GenerationCheck> checks;
            for (const auto& [tenant, g] : checked) checks.push_back({tenant, g});
            auto answer = generations_->validate(checks);
            if (!answer.is_ok()) return answer.status();
            for (const auto& v : answer.value()) valid[v.tenant_shard_id] = v.valid;
        }
    }

    std::uint64_t highest_validated = validated_sequence_;
    for (auto& list : lists) {
        if (list->validated) continue;
        std::uint64_t kept = 0, dropped = 0;
        List trimmed = *list;
        for (auto it = trimmed.tenants.begin(); it != trimmed.tenants.end();) {
            const auto& [tenant, entry] = *it;
            // An older generation than the one checked is stale by definition; unknown shards too.
            bool ok = valid[tenant] && entry.first == checked[tenant];
            (ok ? kept : dropped) += entry.second.size();
            it = ok ? std::next(it) : trimmed.tenants.erase(it);
        }
        trimmed.validated = true;
        // Rewritten without the dropped entries before the header covers it, so a crash between the
        // two can never run a dropped key.
        if (auto s = write_file_durably(dir_ + "/" + list_name(trimmed.sequence), encode_list(trimmed));
            !s.is_ok()) {
            return s;
        }
        highest_validated = std::max(highest_validated, list->sequence);
        // Under the lock: pending_keys() reads the lists from the metrics thread.
        std::lock_guard lock(mutex_);
        *list = std::move(trimmed);
        counters_.validated += kept;
        counters_.dropped += dropped;
    }
    if (highest_validated != validated_sequence_) {
        if (auto s = write_header(highest_validated); !s.is_ok()) return s;
        validated_sequence_ = highest_validated;
    }
    for (auto& list : lists) {
        if (auto s = execute(*list); !s.is_ok()) return s;
    }
    return Status::ok();
}

DeletionCounters DeletionQueue::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

std::uint64_t DeletionQueue::pending_keys() const {
    std::lock_guard lock(mutex_);
    std::uint64_t n = 0;
    for (const auto& list : lists_) n += list->keys();
    return n;
}

std::string DeletionQueue::encode_list(const List& list) {
    nlohmann::json tenants = nlohmann::json::object();
    for (const auto& [tenant, entry] : list.tenants) {
        tenants[tenant] = {{"generation", entry.first}, {"objects", entry.second}};
    }
    return nlohmann::json{{"version", kFormatVersion},
                          {"sequence", list.sequence},
                          {"tenants", tenants},
                          {"validated", list.validated}}
        .dump();
}

}  // namespace gencontrol::client

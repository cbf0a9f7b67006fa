// The deletion queue, the cases Neon tests: smoke (push, flush, deleted), validation (a stale
// generation's keys are dropped, never deleted), and recovery after a crash by Neon's rules.
#include <filesystem>
#include <fstream>

#include "client_test_support.hpp"
#include "gencontrol/deletion_queue.hpp"

using namespace gencontrol::client;

namespace {
const std::string kA = "0000000000000000000000000000000a";
const std::string kB = "0000000000000000000000000000000b";

class DeletionQueueTest : public ::testing::Test {
protected:
    void SetUp() override {
        workdir_ = test_support::fresh_directory("deletion-queue");
        store_ = open_local_directory_store(workdir_ + "/remote").value();
    }
    std::unique_ptr<DeletionQueue> open() {
        auto q = DeletionQueue::open(workdir_, *store_, &service_);
        EXPECT_TRUE(q.is_ok()) << q.status().message();
        return std::move(q).value();
    }
    std::vector<std::string> objects(const std::string& tenant, int n) {
        std::vector<std::string> keys;
        for (int i = 0; i < n; ++i) {
            keys.push_back("tenants/" + tenant + "/timelines/t/layer" + std::to_string(i));
            EXPECT_TRUE(store_->put(keys.back(), "x").is_ok());
        }
        return keys;
    }
    bool exists(const std::string& key) { return store_->get(key).is_ok(); }
    std::vector<std::string> files() {
        std::vector<std::string> names;
        for (auto& e : std::filesystem::directory_iterator(workdir_ + "/deletion"))
            names.push_back(e.path().filename());
        std::sort(names.begin(), names.end());
        return names;
    }

    std::string workdir_;
    std::unique_ptr<ObjectStore> store_;
    StopSignal stop_;
    test_support::TableGenerationService service_{stop_};
};

TEST_F(DeletionQueueTest, Smoke) {
    service_.current = {{kA, 3}};
    auto queue = open();
    auto keys = objects(kA, 3);
    ASSERT_TRUE(queue->push(kA, 3, keys).is_ok());
    EXPECT_EQ(queue->pending_keys(), 3u);
    ASSERT_TRUE(queue->flush(true).is_ok());
    for (const auto& k : keys) EXPECT_FALSE(exists(k)) << k;
    auto c = queue->counters();
    EXPECT_EQ(c.submitted, 3u);
    EXPECT_EQ(c.validated, 3u);
    EXPECT_EQ(c.executed, 3u);
    EXPECT_EQ(c.dropped, 0u);
    EXPECT_EQ(queue->pending_keys(), 0u);
    // Only the header is left: executed lists are removed.
    EXPECT_EQ(files(), std::vector<std::string>{"header-01"});
}

TEST_F(DeletionQueueTest, StaleGenerationIsDroppedNotDeleted) {
    service_.current = {{kA, 4}, {kB, 2}};
    auto queue = open();
    auto stale = objects(kA, 2);
    auto fresh = objects(kB, 2);
    ASSERT_TRUE(queue->push(kA, 3, stale).is_ok());  // kA was attached elsewhere at 4 since
    ASSERT_TRUE(queue->push(kB, 2, fresh).is_ok());
    ASSERT_TRUE(queue->flush(true).is_ok());
    for (const auto& k : stale) EXPECT_TRUE(exists(k)) << k;
    for (const auto& k : fresh) EXPECT_FALSE(exists(k)) << k;
    EXPECT_EQ(queue->counters().dropped, 2u);
    EXPECT_EQ(queue->counters().executed, 2u);
    EXPECT_EQ(service_.validate_calls, 1);  // both shards in one call
}

TEST_F(DeletionQueueTest, UnknownShardIsDropped) {
    auto queue = open();
    auto keys = objects(kA, 1);
    ASSERT_TRUE(queue->push(kA, 1, keys).is_ok());
    ASSERT_TRUE(queue->flush(true).is_ok());
    EXPECT_TRUE(exists(keys[0]));
    EXPECT_EQ(queue->counters().dropped, 1u);
}

TEST_F(DeletionQueueTest, ManyListsOneValidateAtTheHighestGeneration) {
    service_.current = {{kA, 6}};
    auto queue = open();
    auto old_keys = objects(kA, 2);
    ASSERT_TRUE(queue->push(kA, 5, {old_keys[0]}).is_ok());
    ASSERT_TRUE(queue->push(kA, 6, {old_keys[1]}).is_ok());  // a new generation starts a new list
    EXPECT_EQ(files().size(), 2u);  // two lists, on disk as soon as pushed; no header yet
    ASSERT_TRUE(queue->flush(false).is_ok());
    ASSERT_TRUE(queue->flush(true).is_ok());
    EXPECT_EQ(service_.validate_calls, 1);
    EXPECT_TRUE(exists(old_keys[0]));  // generation 5 is older than the checked 6: stale
    EXPECT_FALSE(exists(old_keys[1]));
}

TEST_F(DeletionQueueTest, WaitsOutAnUnreachableService) {
    service_.current = {{kA, 1}};
    service_.failures_left = 3;
    auto queue = open();
    auto keys = objects(kA, 1);
    ASSERT_TRUE(queue->push(kA, 1, keys).is_ok());
    ASSERT_TRUE(queue->flush(true).is_ok());
    EXPECT_EQ(service_.validate_calls, 4);
    EXPECT_FALSE(exists(keys[0]));
}

TEST_F(DeletionQueueTest, ShutdownDuringValidationKeepsTheLists) {
    service_.failures_left = 1000000;
    auto queue = open();
    ASSERT_TRUE(queue->push(kA, 1, objects(kA, 1)).is_ok());
    stop_.request();
    EXPECT_EQ(queue->flush(true).code(), Status::Code::kCancelled);
    EXPECT_EQ(files(), std::vector<std::string>{"0000000000000001-01.list"});
}

// A crash after validation and before execution: the header covers the list, so recovery runs
// it without asking, even though the shard has moved on since (it was valid when validated).
TEST_F(DeletionQueueTest, RecoveryRunsValidatedListsWithoutAsking) {
    auto keys = objects(kA, 2);
    {
        auto queue = open();
        ASSERT_TRUE(queue->push(kA, 3, keys).is_ok());
        ASSERT_TRUE(queue->flush(false).is_ok());
    }
    std::ofstream(workdir_ + "/deletion/header-01") << R"({"version": 1, "validated_sequence": 1})";
    service_.current = {{kA, 9}};
    auto queue = open();
    ASSERT_TRUE(queue->recover({{kA, 9}}).is_ok());
    EXPECT_EQ(service_.validate_calls, 0);
    for (const auto& k : keys) EXPECT_FALSE(exists(k));
}

// Neon's rule: a list one generation behind a shard the node holds now was written by this node
// before its own re-attach bumped the shard: relabelled, validated under the new one, run.
TEST_F(DeletionQueueTest, RecoveryRelabelsOneGenerationBehind) {
    auto keys = objects(kA, 2);
    {
        auto queue = open();
        ASSERT_TRUE(queue->push(kA, 4, keys).is_ok());
        ASSERT_TRUE(queue->flush(false).is_ok());
    }
    service_.current = {{kA, 5}};
    auto queue = open();
    ASSERT_TRUE(queue->recover({{kA, 5}}).is_ok());
    ASSERT_TRUE(queue->flush(true).is_ok());
    for (const auto& k : keys) EXPECT_FALSE(exists(k));
    EXPECT_EQ(queue->counters().executed, 2u);
}

// Two generations behind (someone else attached it in between) or a shard no longer held: the
// list is validated under its own generation, which is stale, so it is dropped.
TEST_F(DeletionQueueTest, RecoveryDropsOtherGenerations) {
    auto a_keys = objects(kA, 1);
    auto b_keys = objects(kB, 1);
    {
        auto queue = open();
        ASSERT_TRUE(queue->push(kA, 3, a_keys).is_ok());
        ASSERT_TRUE(queue->push(kB, 7, b_keys).is_ok());
        ASSERT_TRUE(queue->flush(false).is_ok());
    }
    service_.current = {{kA, 5}, {kB, 8}};
    auto queue = open();
    ASSERT_TRUE(queue->recover({{kA, 5}}).is_ok());  // kB is no longer held here
    ASSERT_TRUE(queue->flush(true).is_ok());
    EXPECT_TRUE(exists(a_keys[0]));
    EXPECT_TRUE(exists(b_keys[0]));
    EXPECT_EQ(queue->counters().dropped, 2u);
    // The lists a previous process left count as submitted in this one: never dropped > submitted.
    EXPECT_EQ(queue->counters().submitted, 2u);
    // Sequence numbers continue after the recovered lists.
    ASSERT_TRUE(queue->push(kA, 5, objects(kA, 1)).is_ok());
    ASSERT_TRUE(queue->flush(false).is_ok());
    EXPECT_EQ(files(), (std::vector<std::string>{"0000000000000003-01.list", "header-01"}));
}

// Counters count keys since open(); what a previous process left on disk is submitted again, so
// submitted = executed + dropped + pending holds after any restart (the metrics' documented meaning).
TEST_F(DeletionQueueTest, CountersAddUpAcrossRestarts) {
    auto check = [](const DeletionQueue& q) {
        auto c = q.counters();
        EXPECT_EQ(c.submitted, c.executed + c.dropped + q.pending_keys());
        EXPECT_LE(c.executed, c.validated);
        EXPECT_LE(c.validated, c.submitted);
    };
    auto validated_keys = objects(kA, 3);
    auto stale_keys = objects(kB, 2);
    auto fresh_keys = objects(kA, 4);
    {
        auto queue = open();
        ASSERT_TRUE(queue->push(kA, 3, validated_keys).is_ok());
        check(*queue);
    }
    // A crash after that list was validated (the header covers it), with two more lists unvalidated.
    std::ofstream(workdir_ + "/deletion/header-01") << R"({"version": 1, "validated_sequence": 1})";
    {
        auto queue = open();
        ASSERT_TRUE(queue->push(kB, 1, stale_keys).is_ok());
        ASSERT_TRUE(queue->push(kA, 4, fresh_keys).is_ok());
        check(*queue);
    }
    service_.current = {{kA, 5}, {kB, 2}};
    auto queue = open();
    EXPECT_EQ(queue->counters().submitted, 9u);  // everything found on disk
    check(*queue);
    ASSERT_TRUE(queue->recover({{kA, 5}}).is_ok());  // runs the validated list, relabels kA's 4 -> 5
    check(*queue);
    ASSERT_TRUE(queue->flush(true).is_ok());  // kB's generation 1 is stale: dropped
    check(*queue);
    auto c = queue->counters();
    EXPECT_EQ(c.executed, 7u);
    EXPECT_EQ(c.dropped, 2u);
    EXPECT_EQ(queue->pending_keys(), 0u);
}

// Keys a shard held back (AttachedMulti, AttachedStale) and gave up when its attachment ended:
// counted as submitted and dropped, nothing written.
TEST_F(DeletionQueueTest, DiscardedKeysAreDropped) {
    auto queue = open();
    queue->discard(5);
    auto c = queue->counters();
    EXPECT_EQ(c.submitted, 5u);
    EXPECT_EQ(c.dropped, 5u);
    EXPECT_EQ(c.executed + c.validated, 0u);
    EXPECT_EQ(queue->pending_keys(), 0u);
    EXPECT_FALSE(std::filesystem::exists(workdir_ + "/deletion/0000000000000001-01.list"));
}

// The control: without a generation service (--no-generations) the same stale push that
// StaleGenerationIsDroppedNotDeleted keeps is deleted at once: validation is what protects it.
TEST_F(DeletionQueueTest, WithoutGenerationsEverythingRuns) {
    service_.current = {{kA, 4}};
    auto keys = objects(kA, 1);
    auto q = DeletionQueue::open(workdir_, *store_, nullptr);
    ASSERT_TRUE(q.is_ok());
    ASSERT_TRUE(q.value()->push(kA, 3, keys).is_ok());
    ASSERT_TRUE(q.value()->flush(true).is_ok());
    EXPECT_FALSE(exists(keys[0]));
    EXPECT_EQ(service_.validate_calls, 0);
}

TEST_F(DeletionQueueTest, MalformedListIsAnErrorNotAGuess) {
    std::filesystem::create_directories(workdir_ + "/deletion");
    std::ofstream(workdir_ + "/deletion/0000000000000001-01.list") << "{not json";
    EXPECT_EQ(DeletionQueue::open(workdir_, *store_, &service_).status().code(), Status::Code::kCorruption);
}

}  // namespace

// Index selection, the cases Neon tests: legacy (unsuffixed), older, previous, own and newer
// indexes in the store; the node loads the highest generation <= its own and never a newer one.
#include "client_test_support.hpp"
#include "gencontrol/index_part.hpp"
#include "gencontrol/remote_layout.hpp"

using namespace gencontrol::client;

namespace {
const std::string kTenant = "072f1291a5310026820b2fe4b2968934";
const std::string kTimeline = "de200bd42b49cc1814412c7e592dd6e9";

// Counts listings, to show the common cases need none (the real store does the work).
class CountingStore final : public ObjectStore {
public:
    explicit CountingStore(std::unique_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
    int lists = 0;
    Status put(std::string_view k, std::string_view d) override { return inner_->put(k, d); }
    Result<std::string> get(std::string_view k) override { return inner_->get(k); }
    Result<std::vector<std::string>> list(std::string_view p) override {
        ++lists;
        return inner_->list(p);
    }
    Status delete_objects(const std::vector<std::string>& k) override { return inner_->delete_objects(k); }

private:
    std::unique_ptr<ObjectStore> inner_;
};

class IndexSelection : public ::testing::Test {
protected:
    void SetUp() override {
        store_ = std::make_unique<CountingStore>(
            open_local_directory_store(test_support::fresh_directory("index-selection")).value());
    }
    // Each index records its own generation as its LSN, so the test sees which one was loaded.
    void put_index(Generation g) {
        IndexPart index;
        index.disk_consistent_lsn = g == kNoGeneration ? 999 : g;
        ASSERT_TRUE(store_->put(index_key(kTenant, kTimeline, g), encode_index_part(index)).is_ok());
    }
    Result<SelectedIndex> select(Generation g) { return select_index(*store_, kTenant, kTimeline, g); }

    std::unique_ptr<CountingStore> store_;
};

TEST_F(IndexSelection, NothingThere) {
    EXPECT_EQ(select(5).status().code(), Status::Code::kNotFound);
}

TEST_F(IndexSelection, LegacyOnly) {
    put_index(kNoGeneration);
    auto got = select(5);
    ASSERT_TRUE(got.is_ok());
    EXPECT_EQ(got.value().generation, kNoGeneration);
    EXPECT_EQ(got.value().index.disk_consistent_lsn, 999u);
}

TEST_F(IndexSelection, OlderBeatsLegacy) {
    put_index(kNoGeneration);
    put_index(2);
    EXPECT_EQ(select(5).value().generation, 2u);
}

TEST_F(IndexSelection, HighestOlderIsChosenByListing) {
    put_index(1);
    put_index(3);
    put_index(2);
    EXPECT_EQ(select(10).value().generation, 3u);
    EXPECT_EQ(store_->lists, 1);
}

TEST_F(IndexSelection, OwnGenerationWithoutListing) {
    put_index(1);
    put_index(5);
    EXPECT_EQ(select(5).value().generation, 5u);
    EXPECT_EQ(store_->lists, 0);
}

TEST_F(IndexSelection, PreviousGenerationWithoutListing) {
    put_index(1);
    put_index(4);
    EXPECT_EQ(select(5).value().generation, 4u);
    EXPECT_EQ(store_->lists, 0);
}

TEST_F(IndexSelection, NewerIsNeverLoaded) {
    put_index(3);
    put_index(6);
    put_index(7);
    EXPECT_EQ(select(5).value().generation, 3u);
    EXPECT_EQ(select(6).value().generation, 6u);
    store_->delete_objects({index_key(kTenant, kTimeline, 3)}).is_ok();
    EXPECT_EQ(select(5).status().code(), Status::Code::kNotFound);
}

TEST_F(IndexSelection, NoGenerationReadsOnlyTheLegacyIndex) {
    put_index(3);
    EXPECT_EQ(select(kNoGeneration).status().code(), Status::Code::kNotFound);
    put_index(kNoGeneration);
    EXPECT_EQ(select(kNoGeneration).value().index.disk_consistent_lsn, 999u);
}

TEST_F(IndexSelection, CorruptOwnIndexIsAnErrorNotAFallback) {
    put_index(2);
    ASSERT_TRUE(store_->put(index_key(kTenant, kTimeline, 5), "{torn").is_ok());
    EXPECT_EQ(select(5).status().code(), Status::Code::kCorruption);
}

}  // namespace

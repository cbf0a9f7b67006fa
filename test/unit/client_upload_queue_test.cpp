// The upload queue's ordering rules, as Neon tests them: layers before the index that references
// them, indexes never overtaking, deletions only after an index without the deleted layers.
#include <gtest/gtest.h>

#include "gencontrol/upload_queue.hpp"

using namespace gencontrol::client;

namespace {

IndexPart index_of(std::initializer_list<std::string> layers, Lsn lsn) {
    IndexPart index;
    index.disk_consistent_lsn = lsn;
    for (const auto& name : layers) index.layer_metadata[name] = {1, 1, "c"};
    return index;
}

std::vector<UploadOp::Kind> kinds(const std::vector<UploadOp>& ops) {
    std::vector<UploadOp::Kind> out;
    for (const auto& op : ops) out.push_back(op.kind);
    return out;
}

using K = UploadOp::Kind;

TEST(UploadQueue, LayersRunTogetherThenTheIndexAlone) {
    UploadQueue queue;
    auto l1 = queue.schedule_layer_upload("L1", {1, 1, "c"});
    auto l2 = queue.schedule_layer_upload("L2", {1, 1, "c"});
    ASSERT_TRUE(queue.schedule_index_upload(index_of({"L1", "L2"}, 10)).is_ok());

    auto first = queue.start_ready();
    EXPECT_EQ(kinds(first), (std::vector<K>{K::kUploadLayer, K::kUploadLayer}));
    EXPECT_TRUE(queue.start_ready().empty());  // the index waits for both layers
    queue.complete(l1);
    EXPECT_TRUE(queue.start_ready().empty());  // still one layer in flight
    queue.complete(l2);
    auto index = queue.start_ready();
    ASSERT_EQ(kinds(index), (std::vector<K>{K::kUploadIndex}));
    EXPECT_EQ(queue.uploaded_index().disk_consistent_lsn, 0u);
    queue.complete(index[0].id);
    EXPECT_EQ(queue.uploaded_index().disk_consistent_lsn, 10u);
    EXPECT_TRUE(queue.idle());
}

TEST(UploadQueue, NothingOvertakesAnIndex) {
    UploadQueue queue;
    queue.schedule_layer_upload("L1", {1, 1, "c"});
    ASSERT_TRUE(queue.schedule_index_upload(index_of({"L1"}, 1)).is_ok());
    queue.schedule_layer_upload("L2", {1, 1, "c"});
    ASSERT_TRUE(queue.schedule_index_upload(index_of({"L1", "L2"}, 2)).is_ok());

    auto a = queue.start_ready();
    ASSERT_EQ(kinds(a), (std::vector<K>{K::kUploadLayer}));
    queue.complete(a[0].id);
    auto b = queue.start_ready();
    ASSERT_EQ(kinds(b), (std::vector<K>{K::kUploadIndex}));
    EXPECT_TRUE(queue.start_ready().empty());  // L2 waits behind the index in flight
    queue.complete(b[0].id);
    auto c = queue.start_ready();
    ASSERT_EQ(kinds(c), (std::vector<K>{K::kUploadLayer}));
    EXPECT_EQ(c[0].layer_name, "L2");
    queue.complete(c[0].id);
    auto d = queue.start_ready();
    ASSERT_EQ(kinds(d), (std::vector<K>{K::kUploadIndex}));
    EXPECT_EQ(d[0].index.disk_consistent_lsn, 2u);
}

TEST(UploadQueue, IndexMayOnlyReferenceKnownLayers) {
    UploadQueue queue(index_of({"L0"}, 5));
    EXPECT_TRUE(queue.schedule_index_upload(index_of({"L0"}, 5)).is_ok());
    EXPECT_EQ(queue.schedule_index_upload(index_of({"L0", "Lx"}, 6)).status().code(),
              Status::Code::kInvalidArgument);
}

TEST(UploadQueue, DeletionWaitsForTheIndexThatDropsTheLayers) {
    UploadQueue queue(index_of({"L1", "L2"}, 5));
    // Still referenced by the last scheduled index: refused.
    EXPECT_EQ(queue.schedule_layer_deletion(index_of({"L1"}, 0).layer_metadata).status().code(),
              Status::Code::kConflict);

    auto image = queue.schedule_layer_upload("I3", {1, 1, "c"});
    ASSERT_TRUE(queue.schedule_index_upload(index_of({"I3"}, 5)).is_ok());
    ASSERT_TRUE(queue.schedule_layer_deletion(index_of({"L1", "L2"}, 0).layer_metadata).is_ok());

    EXPECT_EQ(kinds(queue.start_ready()), (std::vector<K>{K::kUploadLayer}));
    queue.complete(image);
    auto index = queue.start_ready();
    ASSERT_EQ(kinds(index), (std::vector<K>{K::kUploadIndex}));
    EXPECT_TRUE(queue.start_ready().empty());  // the deletion waits for the index upload
    queue.complete(index[0].id);
    auto deletion = queue.start_ready();
    ASSERT_EQ(kinds(deletion), (std::vector<K>{K::kDeleteLayers}));
    EXPECT_EQ(deletion[0].deleted.size(), 2u);
    EXPECT_FALSE(queue.uploaded_index().layer_metadata.contains("L1"));
}

TEST(UploadQueue, LayerAfterADeletionWaitsForIt) {
    UploadQueue queue(index_of({"L1"}, 1));
    ASSERT_TRUE(queue.schedule_index_upload(index_of({}, 1)).is_ok());
    ASSERT_TRUE(queue.schedule_layer_deletion(index_of({"L1"}, 0).layer_metadata).is_ok());
    queue.schedule_layer_upload("L1", {1, 2, "c"});  // same name again, as a re-upload would
    auto a = queue.start_ready();
    ASSERT_EQ(kinds(a), (std::vector<K>{K::kUploadIndex}));
    queue.complete(a[0].id);
    auto b = queue.start_ready();
    ASSERT_EQ(kinds(b), (std::vector<K>{K::kDeleteLayers}));
    EXPECT_TRUE(queue.start_ready().empty());
    queue.complete(b[0].id);
    EXPECT_EQ(kinds(queue.start_ready()), (std::vector<K>{K::kUploadLayer}));
}

}  // namespace

// The upload queue's ordering rules: layers before the index that references them, indexes in
// order, deletions only after an index without the deleted layers is uploaded.
#include "gencontrol/upload_queue.hpp"

#include <algorithm>

namespace gencontrol::client {

UploadQueue::UploadQueue(IndexPart remote) : latest_index_(remote), uploaded_index_(remote) {
    for (const auto& [name, _] : remote.layer_metadata) known_layers_.insert(name);
}

std::uint64_t UploadQueue::schedule_layer_upload(const std::string& name, const LayerMetadata& layer) {
    UploadOp op;
    op.id = next_id_++;
    op.kind = UploadOp::Kind::kUploadLayer;
    op.layer_name = name;
    op.layer = layer;
    known_layers_.insert(name);
    queued_.push_back(std::move(op));
    return queued_.back().id;
}

Result<std::uint64_t> UploadQueue::schedule_index_upload(const IndexPart& index) {
    for (const auto& [name, _] : index.layer_metadata) {
        if (!known_layers_.contains(name)) {
            return Status::invalid_argument("index references layer " + name +
                                            " that was never scheduled for upload");
        }
    }
    UploadOp op;
    op.id = next_id_++;
    op.kind = UploadOp::Kind::kUploadIndex;
    op.index = index;
    latest_index_ = index;
    queued_.push_back(std::move(op));
    return queued_.back().id;
}

Result<std::uint64_t> UploadQueue::schedule_layer_deletion(
    const std::map<std::string, LayerMetadata>& layers) {
    for (const auto& [name, _] : layers) {
        if (latest_index_.layer_metadata.contains(name)) {
            return Status::conflict("layer " + name + " is still referenced by the last scheduled index");
        }
    }
    UploadOp op;
    op.id = next_id_++;
    op.kind = UploadOp::Kind::kDeleteLayers;
    op.deleted = layers;
    for (const auto& [name, _] : layers) known_layers_.erase(name);
    queued_.push_back(std::move(op));
    return queued_.back().id;
}

std::vector<UploadOp> UploadQueue::start_ready() {
    std::vector<UploadOp> started;
    while (!queued_.empty()) {
        UploadOp& head = queued_.front();
        bool barrier_in_flight = std::any_of(in_flight_.begin(), in_flight_.end(), [](const UploadOp& op) {
            return op.kind != UploadOp::Kind::kUploadLayer;
        });
        if (head.kind == UploadOp::Kind::kUploadLayer) {
            // Layers may run side by side, but never next to an index or deletion queued earlier.
            if (barrier_in_flight) break;
        } else if (!in_flight_.empty()) {
            // Indexes and deletions wait for everything queued before them.
            break;
        }
        in_flight_.push_back(head);
        started.push_back(std::move(head));
        queued_.pop_front();
        if (started.back().kind != UploadOp::Kind::kUploadLayer) break;  // nothing may overtake it
    }
    return started;
}

void UploadQueue::complete(std::uint64_t id) {
    auto it =
        std::find_if(in_flight_.begin(), in_flight_.end(), [id](const UploadOp& op) { return op.id == id; });
    if (it == in_flight_.end()) return;
    if (it->kind == UploadOp::Kind::kUploadIndex) uploaded_index_ = it->index;
    in_flight_.erase(it);
}

}  // namespace gencontrol::client

// The ordering rules of a timeline's uploads, as a scheduler: which queued layer uploads, index
// uploads and layer deletions may start now. The caller runs them and reports completion.
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <vector>

#include "gencontrol/index_part.hpp"
#include "gencontrol/status.hpp"

namespace gencontrol::client {

struct UploadOp {
    enum class Kind { kUploadLayer, kUploadIndex, kDeleteLayers };
    std::uint64_t id = 0;
    Kind kind = Kind::kUploadLayer;
    std::string layer_name;                        // kUploadLayer
    LayerMetadata layer;                           // kUploadLayer
    IndexPart index;                               // kUploadIndex
    std::map<std::string, LayerMetadata> deleted;  // kDeleteLayers: names and their generations
};

// The rules (Neon's upload queue, written once here):
//  1. a layer is uploaded before any index that references it: an index may only reference layers
//     already in the remote index or scheduled before it, and it starts after everything before it;
//  2. an index upload never overtakes another, nor anything queued before it;
//  3. a layer is deleted only after an index that no longer references it was uploaded: a deletion
//     is refused while the last scheduled index references the layer, and starts after everything
//     before it (so after that index).
// Layer uploads queued back to back may run in parallel. Not thread-safe: one owner per timeline.
class UploadQueue {
public:
    // `remote` is the index the timeline was attached from (empty for a new timeline).
    explicit UploadQueue(IndexPart remote = {});

    std::uint64_t schedule_layer_upload(const std::string& name, const LayerMetadata& layer);
    // kInvalidArgument when the index references a layer that was never scheduled or attached.
    Result<std::uint64_t> schedule_index_upload(const IndexPart& index);
    // kConflict when the last scheduled index still references one of the layers.
    Result<std::uint64_t> schedule_layer_deletion(const std::map<std::string, LayerMetadata>& layers);

    // The ops that may start now, in queue order; they are in flight until complete(id).
    std::vector<UploadOp> start_ready();
    void complete(std::uint64_t id);

    bool idle() const { return queued_.empty() && in_flight_.empty(); }
    // The last index scheduled (what the timeline will look like remotely once the queue drains).
    const IndexPart& latest_index() const { return latest_index_; }
    // The last index whose upload completed.
    const IndexPart& uploaded_index() const { return uploaded_index_; }

private:
    std::uint64_t next_id_ = 1;
    std::deque<UploadOp> queued_;
    std::vector<UploadOp> in_flight_;
    std::set<std::string> known_layers_;  // attached, or scheduled for upload
    IndexPart latest_index_;
    IndexPart uploaded_index_;
};

}  // namespace gencontrol::client

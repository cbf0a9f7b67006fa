// The reference storage node's state: the tenant shards it holds, the object store, the deletion
// queue and the generation service; start-up (re-attach, attach, recover) and location changes.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config.hpp"
#include "gencontrol/deletion_queue.hpp"
#include "gencontrol/object_store.hpp"
#include "gencontrol/retry.hpp"
#include "tenant_shard.hpp"
#include "validation_metrics.hpp"

namespace gencontrol::node {

class Node {
public:
    explicit Node(NodeConfig config);
    // Opens the store, the deletion queue and the generation client. Nothing is served yet.
    Status open();
    // docs/design.md's start-up: re-attach (retrying forever), attach what it returned with those
    // generations, drop local tenant shards it did not return, recover the deletion queue; then
    // tenant routes are served. kCancelled when stopped first.
    Status start_up();
    bool ready() const { return ready_; }

    // PUT location_config: kConflict for a generation lower than the one held; kInvalidArgument
    // for an attached mode without generation.
    Status set_location(const std::string& id, Mode mode, std::optional<Generation> generation);
    std::shared_ptr<TenantShard> tenant(const std::string& id);
    // POST /v1/deletion_queue/flush.
    Status flush_deletions(bool execute);
    client::DeletionCounters deletion_counters() const { return deletions_->counters(); }

    // Until stop(): makes uploaded progress visible and drains the deletion queue, every second.
    void run_background();
    void stop() { stop_.request(); }
    std::string metrics_text();

private:
    NodeConfig config_;
    client::StopSignal stop_;
    std::unique_ptr<client::ObjectStore> store_;
    std::unique_ptr<CountingGenerationClient> generations_;  // null with --no-generations
    std::unique_ptr<client::DeletionQueue> deletions_;
    std::unique_ptr<NodeServices> services_;
    std::atomic<bool> ready_{false};

    std::mutex location_mutex_;  // one location change at a time (attach may take a while)
    std::mutex tenants_mutex_;   // the map only
    std::map<std::string, std::shared_ptr<TenantShard>> tenants_;
};

}  // namespace gencontrol::node

// One tenant shard held by the reference node: its mode and generation, and per timeline the
// records in memory, the state read from layers, the upload queue and the remote progress.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gencontrol/deletion_queue.hpp"
#include "gencontrol/generation_client.hpp"
#include "gencontrol/index_part.hpp"
#include "gencontrol/object_store.hpp"
#include "gencontrol/remote_consistent_lsn.hpp"
#include "gencontrol/upload_queue.hpp"
#include "layer_file.hpp"

namespace gencontrol::node {

using client::Generation;
using client::Lsn;
using client::Result;
using client::Status;

enum class Mode { kAttachedSingle, kAttachedMulti, kAttachedStale, kSecondary, kDetached };
std::optional<Mode> parse_mode(std::string_view text);
const char* mode_name(Mode mode);

// What every tenant shard on the node shares. `generations` is null with --no-generations.
struct NodeServices {
    client::ObjectStore& store;
    client::DeletionQueue& deletions;
    client::GenerationClient* generations;
    std::string workdir;
    const client::StopSignal& stop;
};

struct TimelineStatus {
    Lsn last_record_lsn = 0, remote_consistent_lsn = 0, remote_consistent_lsn_visible = 0;
};

class TenantShard {
public:
    // Loads every timeline's index (highest generation <= `generation`) and its layers, checking
    // sizes and checksums, under the `attaching` marker. kCorruption when a layer does not match.
    static Result<std::shared_ptr<TenantShard>> attach(NodeServices& services, const std::string& id,
                                                       Mode mode, Generation generation);
    // A secondary location holds no generation and no data here.
    static std::shared_ptr<TenantShard> secondary(NodeServices& services, const std::string& id);

    const std::string& id() const { return id_; }
    Mode mode() const;
    Generation generation() const { return generation_; }
    // The same generation in another attached mode; entering AttachedSingle releases the deletions
    // held back while the shard was AttachedMulti or AttachedStale.
    void set_mode(Mode mode);

    // Appends records at the next LSNs; kConflict unless AttachedSingle or AttachedMulti.
    Result<Lsn> write(const std::string& timeline,
                      const std::vector<std::pair<std::string, std::string>>& records);
    // Flushes the records in memory to a layer, uploads it and the index, then validates once.
    Result<TimelineStatus> checkpoint(const std::string& timeline);
    // One image layer with the latest value of every key, an index referencing only it, and the
    // replaced layers queued for deletion. Returns how many layers were replaced.
    Result<std::size_t> compact(const std::string& timeline);
    // The node's current view (layers and memory); kNotFound for an unknown timeline.
    Result<std::pair<Lsn, std::map<std::string, std::string>>> read(const std::string& timeline);
    std::map<std::string, TimelineStatus> timelines();

    // Makes uploaded progress visible: one validate attempt for every timeline whose projected
    // remote_consistent_lsn is ahead of the visible one. Called after a checkpoint and periodically.
    void confirm_progress();
    // Removes the shard's local directory (the node dropped it).
    void remove_local_state();
    // The shard is being detached or replaced by a newer generation: the deletions it held back can
    // never run (another attachment owns the layers now). Counts them as dropped; returns how many.
    std::size_t discard_held_deletions();

private:
    struct Timeline {
        std::map<std::string, std::pair<Lsn, std::string>> flushed;  // key -> (lsn, value) from layers
        std::vector<Record> in_memory;
        std::map<std::string, std::string> layer_bodies;  // scheduled layer uploads, until they ran
        // Progress counts only indexes this attachment uploaded: an index it loaded may be outdone
        // by a stale node's later upload under a generation between the loaded one and ours.
        bool own_index_scheduled = false;
        Lsn last_record_lsn = 0;
        std::unique_ptr<client::UploadQueue> queue = std::make_unique<client::UploadQueue>();
        std::shared_ptr<client::RemoteConsistentLsn> progress =
            std::make_shared<client::RemoteConsistentLsn>();
    };

    TenantShard(NodeServices& services, std::string id, Mode mode, Generation generation);
    Status load_timeline(const std::string& timeline_id);
    // Keys and the index's layer generations: none with --no-generations.
    Generation key_generation() const;
    Timeline* find(const std::string& timeline);
    Status run_uploads(const std::string& timeline_id, Timeline& timeline);
    Status run_op(const std::string& timeline_id, Timeline& timeline, const client::UploadOp& op);
    void release_deletions_locked();
    std::string local_dir() const;

    NodeServices& services_;
    const std::string id_;
    const Generation generation_;
    mutable std::mutex mutex_;
    Mode mode_;
    std::map<std::string, Timeline> timelines_;
    std::vector<std::string> blocked_deletions_;  // keys held back outside AttachedSingle
};

}  // namespace gencontrol::node

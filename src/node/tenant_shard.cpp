// A tenant shard on the reference node: attach from the remote index, writes in memory,
// checkpoint and compaction through the upload queue, deletions through the deletion queue.
#include "tenant_shard.hpp"

#include <algorithm>
#include <cstdio>
#include <set>
#include <filesystem>

#include "gencontrol/attach_marker.hpp"
#include "gencontrol/remote_layout.hpp"

namespace gencontrol::node {

std::optional<Mode> parse_mode(std::string_view text) {
    if (text == "AttachedSingle") return Mode::kAttachedSingle;
    if (text == "AttachedMulti") return Mode::kAttachedMulti;
    if (text == "AttachedStale") return Mode::kAttachedStale;
    if (text == "Secondary") return Mode::kSecondary;
    if (text == "Detached") return Mode::kDetached;
    return std::nullopt;
}

const char* mode_name(Mode mode) {
    switch (mode) {
        case Mode::kAttachedSingle: return "AttachedSingle";
        case Mode::kAttachedMulti: return "AttachedMulti";
        case Mode::kAttachedStale: return "AttachedStale";
        case Mode::kSecondary: return "Secondary";
        case Mode::kDetached: return "Detached";
    }
    return "?";
}

namespace {
std::string lsn_name(const char* kind, Lsn a, Lsn b) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s-%016llx-%016llx", kind, static_cast<unsigned long long>(a),
                  static_cast<unsigned long long>(b));
    return buf;
}
}  // namespace

TenantShard::TenantShard(NodeServices& services, std::string id, Mode mode, Generation generation)
    : services_(services), id_(std::move(id)), generation_(generation), mode_(mode) {}

std::shared_ptr<TenantShard> TenantShard::secondary(NodeServices& services, const std::string& id) {
    return std::shared_ptr<TenantShard>(
        new TenantShard(services, id, Mode::kSecondary, client::kNoGeneration));
}

Generation TenantShard::key_generation() const {
    return services_.generations == nullptr ? client::kNoGeneration : generation_;
}

std::string TenantShard::local_dir() const {
    return services_.workdir + "/tenants/" + id_;
}

void TenantShard::remove_local_state() {
    std::error_code ignored;
    std::filesystem::remove_all(local_dir(), ignored);
}

Result<std::shared_ptr<TenantShard>> TenantShard::attach(NodeServices& services, const std::string& id,
                                                         Mode mode, Generation generation) {
    std::shared_ptr<TenantShard> shard(new TenantShard(services, id, mode, generation));
    // The marker goes down before the first download and comes off after the last check, so a
    // crash in between is seen at the next start.
    if (auto s = client::begin_attach(shard->local_dir()); !s.is_ok()) return s;
    auto keys = services.store.list(client::timelines_prefix(id));
    if (!keys.is_ok()) return keys.status();
    std::set<std::string> timeline_ids;
    for (const auto& key : keys.value()) {
        auto rest = std::string_view(key).substr(client::timelines_prefix(id).size());
        auto slash = rest.find('/');
        if (slash != std::string_view::npos && client::is_valid_timeline_id(rest.substr(0, slash))) {
            timeline_ids.insert(std::string(rest.substr(0, slash)));
        }
    }
    for (const auto& timeline_id : timeline_ids) {
        if (auto s = shard->load_timeline(timeline_id); !s.is_ok()) return s;
    }
    if (auto s = client::finish_attach(shard->local_dir()); !s.is_ok()) return s;
    return shard;
}

// Corruption messages start with the reason, then the key: the access log keeps only the start.
Status TenantShard::load_timeline(const std::string& timeline_id) {
    auto selected = client::select_index(services_.store, id_, timeline_id, key_generation());
    // A timeline whose only indexes are newer than us is not ours to see.
    if (!selected.is_ok() && selected.status().code() == Status::Code::kNotFound) return Status::ok();
    if (!selected.is_ok()) return selected.status();
    const auto& index = selected.value().index;
    Timeline timeline;
    for (const auto& [name, meta] : index.layer_metadata) {
        std::string key = client::layer_key(id_, timeline_id, name, meta.generation);
        auto bytes = services_.store.get(key);
        if (!bytes.is_ok())
            return Status::corruption("a listed layer cannot be read: " + key + " (in " +
                                      selected.value().key + "): " + bytes.status().message());
        if (bytes.value().size() != meta.file_size ||
            client::layer_checksum(bytes.value()) != meta.checksum) {
            return Status::corruption("layer does not match its size or checksum: " + key + " (in " +
                                      selected.value().key + ")");
        }
        auto records = decode_layer(bytes.value());
        if (!records.is_ok())
            return Status::corruption("layer is malformed: " + key + ": " + records.status().message());
        for (auto& r : records.value()) {
            auto& slot = timeline.flushed[r.key];
            if (r.lsn >= slot.first) slot = {r.lsn, std::move(r.value)};
        }
    }
    timeline.last_record_lsn = index.disk_consistent_lsn;
    timeline.queue = std::make_unique<client::UploadQueue>(index);
    timelines_[timeline_id] = std::move(timeline);
    return Status::ok();
}

Mode TenantShard::mode() const {
    std::lock_guard lock(mutex_);
    return mode_;
}

void TenantShard::set_mode(Mode mode) {
    std::lock_guard lock(mutex_);
    mode_ = mode;
    if (mode_ == Mode::kAttachedSingle) release_deletions_locked();
}

void TenantShard::release_deletions_locked() {
    if (blocked_deletions_.empty()) return;
    // If the list cannot be written the keys are kept and tried again at the next mode change.
    if (services_.deletions.push(id_, key_generation(), blocked_deletions_).is_ok())
        blocked_deletions_.clear();
}

std::size_t TenantShard::discard_held_deletions() {
    std::lock_guard lock(mutex_);
    std::size_t n = blocked_deletions_.size();
    if (n > 0) services_.deletions.discard(n);
    blocked_deletions_.clear();
    return n;
}

TenantShard::Timeline* TenantShard::find(const std::string& timeline) {
    auto it = timelines_.find(timeline);
    return it == timelines_.end() ? nullptr : &it->second;
}

Result<Lsn> TenantShard::write(const std::string& timeline_id,
                               const std::vector<std::pair<std::string, std::string>>& records) {
    std::lock_guard lock(mutex_);
    if (mode_ != Mode::kAttachedSingle && mode_ != Mode::kAttachedMulti) {
        return Status::conflict(std::string("tenant shard is ") + mode_name(mode_) +
                                ": writes need AttachedSingle or AttachedMulti");
    }
    Timeline& timeline = timelines_[timeline_id];  // a new timeline starts at LSN 0
    for (const auto& [key, value] : records)
        timeline.in_memory.push_back({++timeline.last_record_lsn, key, value});
    return timeline.last_record_lsn;
}

Status TenantShard::run_uploads(const std::string& timeline_id, Timeline& timeline) {
    // Ops run here one batch at a time; the queue decides what may run, so the rules hold however
    // an adopter parallelises this loop. A failed op is retried (as Neon does) until shutdown.
    for (auto ops = timeline.queue->start_ready(); !ops.empty(); ops = timeline.queue->start_ready()) {
        for (const auto& op : ops) {
            Status s = client::retry_forever(
                [&] {
                    Status r = run_op(timeline_id, timeline, op);
                    return r.is_ok() ? r : Status::unavailable(r.message());
                },
                services_.stop);
            if (!s.is_ok()) return s;
            timeline.queue->complete(op.id);
        }
    }
    return Status::ok();
}

Status TenantShard::run_op(const std::string& timeline_id, Timeline& timeline, const client::UploadOp& op) {
    switch (op.kind) {
        case client::UploadOp::Kind::kUploadLayer: {
            Status s =
                services_.store.put(client::layer_key(id_, timeline_id, op.layer_name, op.layer.generation),
                                    timeline.layer_bodies[op.layer_name]);
            if (s.is_ok()) timeline.layer_bodies.erase(op.layer_name);
            return s;
        }
        case client::UploadOp::Kind::kUploadIndex: {
            Status s = services_.store.put(client::index_key(id_, timeline_id, key_generation()),
                                           client::encode_index_part(op.index));
            if (s.is_ok()) timeline.progress->index_uploaded(op.index.disk_consistent_lsn);
            return s;
        }
        case client::UploadOp::Kind::kDeleteLayers: {
            std::vector<std::string> keys;
            for (const auto& [name, meta] : op.deleted)
                keys.push_back(client::layer_key(id_, timeline_id, name, meta.generation));
            if (services_.generations == nullptr) {
                // Before generations: deletions run at once.
                if (auto s = services_.deletions.push(id_, client::kNoGeneration, keys); !s.is_ok()) return s;
                return services_.deletions.flush(true);
            }
            if (mode_ == Mode::kAttachedSingle) {
                // On disk before compact answers: a crash right after still runs (or drops) them.
                return services_.deletions.push(id_, key_generation(), keys);
            } else {
                // Another node may be reading what we would delete (RFC 028): hold back.
                blocked_deletions_.insert(blocked_deletions_.end(), keys.begin(), keys.end());
            }
            return Status::ok();
        }
    }
    return Status::ok();
}

Result<TimelineStatus> TenantShard::checkpoint(const std::string& timeline_id) {
    {
        std::lock_guard lock(mutex_);
        if (mode_ == Mode::kSecondary) return Status::conflict("a secondary location holds no timelines");
        Timeline* timeline = find(timeline_id);
        if (timeline == nullptr) return Status::not_found("no timeline " + timeline_id);
        if (!timeline->in_memory.empty()) {
            std::string name =
                lsn_name("delta", timeline->in_memory.front().lsn, timeline->in_memory.back().lsn);
            std::string bytes = encode_layer(timeline->in_memory);
            client::LayerMetadata meta{bytes.size(), key_generation(), client::layer_checksum(bytes)};
            timeline->layer_bodies[name] = std::move(bytes);
            timeline->queue->schedule_layer_upload(name, meta);
            client::IndexPart index = timeline->queue->latest_index();
            index.layer_metadata[name] = meta;
            index.disk_consistent_lsn = timeline->in_memory.back().lsn;
            if (auto r = timeline->queue->schedule_index_upload(index); !r.is_ok()) return r.status();
            for (auto& r : timeline->in_memory) timeline->flushed[r.key] = {r.lsn, std::move(r.value)};
            timeline->in_memory.clear();
            timeline->own_index_scheduled = true;
        } else if (!timeline->own_index_scheduled && timeline->last_record_lsn > 0) {
            // Nothing new since attach: the loaded index again, under our generation, so what it
            // covers can become visible.
            if (auto r = timeline->queue->schedule_index_upload(timeline->queue->latest_index()); !r.is_ok()) {
                return r.status();
            }
            timeline->own_index_scheduled = true;
        }
        if (auto s = run_uploads(timeline_id, *timeline); !s.is_ok()) return s;
    }
    confirm_progress();
    std::lock_guard lock(mutex_);
    Timeline* timeline = find(timeline_id);
    return TimelineStatus{timeline->last_record_lsn, timeline->progress->projected(),
                          timeline->progress->visible()};
}

Result<std::size_t> TenantShard::compact(const std::string& timeline_id) {
    std::lock_guard lock(mutex_);
    if (mode_ == Mode::kSecondary) return Status::conflict("a secondary location holds no timelines");
    Timeline* timeline = find(timeline_id);
    if (timeline == nullptr) return Status::not_found("no timeline " + timeline_id);
    client::IndexPart current = timeline->queue->latest_index();
    std::string name = lsn_name("image", 0, current.disk_consistent_lsn);
    client::LayerMetadata* same = nullptr;
    if (auto it = current.layer_metadata.find(name); it != current.layer_metadata.end()) same = &it->second;
    // Already one image of this state: nothing to replace.
    if (current.layer_metadata.size() <= 1 && (current.layer_metadata.empty() || same != nullptr))
        return std::size_t{0};

    std::vector<Record> image;
    for (const auto& [key, slot] : timeline->flushed) image.push_back({slot.first, key, slot.second});
    std::sort(image.begin(), image.end(), [](const Record& a, const Record& b) { return a.lsn < b.lsn; });
    std::string bytes = encode_layer(image);
    client::LayerMetadata meta{bytes.size(), key_generation(), client::layer_checksum(bytes)};
    timeline->layer_bodies[name] = std::move(bytes);
    timeline->queue->schedule_layer_upload(name, meta);
    client::IndexPart index;
    index.disk_consistent_lsn = current.disk_consistent_lsn;
    index.layer_metadata[name] = meta;
    if (auto r = timeline->queue->schedule_index_upload(index); !r.is_ok()) return r.status();
    timeline->own_index_scheduled = true;
    auto replaced = current.layer_metadata;
    // An image of the same name and generation was just overwritten by this one: never delete it.
    if (same != nullptr && same->generation == meta.generation) replaced.erase(name);
    std::size_t count = replaced.size();
    if (!replaced.empty()) {
        if (auto r = timeline->queue->schedule_layer_deletion(replaced); !r.is_ok()) return r.status();
    }
    if (auto s = run_uploads(timeline_id, *timeline); !s.is_ok()) return s;
    return count;
}

Result<std::pair<Lsn, std::map<std::string, std::string>>> TenantShard::read(const std::string& timeline_id) {
    std::lock_guard lock(mutex_);
    Timeline* timeline = find(timeline_id);
    if (timeline == nullptr) return Status::not_found("no timeline " + timeline_id);
    std::map<std::string, std::string> view;
    for (const auto& [key, slot] : timeline->flushed) view[key] = slot.second;
    for (const auto& r : timeline->in_memory) view[r.key] = r.value;
    return std::pair{timeline->last_record_lsn, std::move(view)};
}

std::map<std::string, TimelineStatus> TenantShard::timelines() {
    std::lock_guard lock(mutex_);
    std::map<std::string, TimelineStatus> out;
    for (const auto& [id, t] : timelines_) {
        out[id] = {t.last_record_lsn, t.progress->projected(), t.progress->visible()};
    }
    return out;
}

void TenantShard::confirm_progress() {
    std::vector<std::pair<std::shared_ptr<client::RemoteConsistentLsn>, Lsn>> pending;
    {
        std::lock_guard lock(mutex_);
        if (mode_ == Mode::kSecondary) return;
        for (auto& [_, t] : timelines_) {
            Lsn projected = t.progress->projected();
            if (projected > t.progress->visible()) pending.push_back({t.progress, projected});
        }
    }
    if (pending.empty()) return;
    if (services_.generations == nullptr) {
        // Before generations nothing could be confirmed, and nothing was: uploaded means visible.
        for (auto& [progress, lsn] : pending) progress->validated(lsn);
        return;
    }
    // Sent after the uploads completed, so a valid answer proves no newer attachment existed then.
    auto answer = services_.generations->validate_once({{id_, generation_}});
    if (!answer.is_ok()) return;
    for (const auto& v : answer.value()) {
        if (v.tenant_shard_id == id_ && v.valid) {
            for (auto& [progress, lsn] : pending) progress->validated(lsn);
        }
    }
}

}  // namespace gencontrol::node

// Which index a node holding generation g loads: the highest generation <= g, found as Neon
// does (own, previous, listing, then the legacy unsuffixed index); never a newer one.
#include "gencontrol/index_part.hpp"
#include "gencontrol/remote_layout.hpp"

namespace gencontrol::client {
namespace {

// kNotFound passes through so the caller can try the next candidate.
Result<SelectedIndex> load(ObjectStore& store, const std::string& key, Generation generation) {
    auto bytes = store.get(key);
    if (!bytes.is_ok()) return bytes.status();
    auto index = decode_index_part(bytes.value());
    if (!index.is_ok()) return Status::corruption(key + ": " + index.status().message());
    return SelectedIndex{std::move(index).value(), generation, key};
}

}  // namespace

Result<SelectedIndex> select_index(ObjectStore& store, std::string_view tenant_shard_id,
                                   std::string_view timeline_id, Generation generation) {
    const std::string legacy = index_key(tenant_shard_id, timeline_id, kNoGeneration);
    if (generation == kNoGeneration) return load(store, legacy, kNoGeneration);

    // The common cases cost one GET: a restart (own generation) or a migration (the one before).
    for (Generation candidate : {generation, generation - 1}) {
        if (candidate == kNoGeneration) break;
        auto found = load(store, index_key(tenant_shard_id, timeline_id, candidate), candidate);
        if (found.is_ok() || found.status().code() != Status::Code::kNotFound) return found;
    }

    auto keys = store.list(timeline_prefix(tenant_shard_id, timeline_id) + "index_part.json");
    if (!keys.is_ok()) return keys.status();
    std::optional<Generation> best;
    for (const auto& key : keys.value()) {
        auto g = parse_index_generation(key);
        if (g && *g != kNoGeneration && *g < generation && (!best || *g > *best)) best = *g;
    }
    if (best) return load(store, index_key(tenant_shard_id, timeline_id, *best), *best);
    return load(store, legacy, kNoGeneration);
}

}  // namespace gencontrol::client

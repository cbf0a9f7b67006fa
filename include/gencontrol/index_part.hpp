// A timeline's index (index_part.json-{generation}): which layers make up the timeline and up to
// which LSN it is consistent; its JSON form, and which index a node holding generation g loads.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gencontrol/generation_client.hpp"
#include "gencontrol/object_store.hpp"
#include "gencontrol/status.hpp"

namespace gencontrol::client {

using Lsn = std::uint64_t;

struct LayerMetadata {
    std::uint64_t file_size = 0;
    Generation generation = kNoGeneration;  // the generation that uploaded it: part of its key
    std::string checksum;                   // sha256 of the layer file, 64 lower-case hex digits
    friend bool operator==(const LayerMetadata&, const LayerMetadata&) = default;
};

// A subset of Neon's IndexPart with Neon's field names:
// {"version": 1, "disk_consistent_lsn": N, "layer_metadata": {"<name>": {...}}}.
struct IndexPart {
    Lsn disk_consistent_lsn = 0;
    std::map<std::string, LayerMetadata> layer_metadata;
    friend bool operator==(const IndexPart&, const IndexPart&) = default;
};

std::string encode_index_part(const IndexPart& index);
// kCorruption for anything that is not a well-formed index (unknown fields are ignored).
Result<IndexPart> decode_index_part(std::string_view json);

// The layer checksum the index records: sha256 of the file's bytes, lower-case hex.
std::string layer_checksum(std::string_view layer_bytes);

// The index a node holding `generation` loads, with the generation it was written by.
struct SelectedIndex {
    IndexPart index;
    Generation generation = kNoGeneration;
    std::string key;
};

// Index selection, Neon's order: the node's own generation, then the one before it, then a
// listing, picking the highest generation below its own; an unsuffixed (legacy) index is the
// last resort. Never an index newer than `generation`. kNotFound when the timeline has none.
// With kNoGeneration only the unsuffixed index is read.
Result<SelectedIndex> select_index(ObjectStore& store, std::string_view tenant_shard_id,
                                   std::string_view timeline_id, Generation generation);

}  // namespace gencontrol::client

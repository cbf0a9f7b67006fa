// Where a tenant shard's objects live in the store (Neon's layout): the key of a timeline's
// index and layers, each suffixed with the generation that wrote it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gencontrol/generation_client.hpp"

namespace gencontrol::client {

// "-{generation:08x}", or "" for kNoGeneration (the unsuffixed keys from before generations).
std::string generation_suffix(Generation generation);

// tenants/{tenant_shard_id}/timelines/
std::string timelines_prefix(std::string_view tenant_shard_id);
// tenants/{tenant_shard_id}/timelines/{timeline_id}/
std::string timeline_prefix(std::string_view tenant_shard_id, std::string_view timeline_id);
// .../index_part.json-{generation:08x}
std::string index_key(std::string_view tenant_shard_id, std::string_view timeline_id, Generation generation);
// .../{layer_name}-{generation:08x}, the generation being the one that uploaded the layer.
std::string layer_key(std::string_view tenant_shard_id, std::string_view timeline_id,
                      std::string_view layer_name, Generation layer_generation);

// The generation of an index key's file name ("index_part.json-0000000a" -> 10,
// "index_part.json" -> kNoGeneration); empty for anything that is not an index.
std::optional<Generation> parse_index_generation(std::string_view key);

// Timeline ids are 32 hex digits; the ids here are checked before they reach a key.
bool is_valid_timeline_id(std::string_view timeline_id);
// A layer name is non-empty, at most 255 bytes, and holds no '/'.
bool is_valid_layer_name(std::string_view layer_name);

}  // namespace gencontrol::client

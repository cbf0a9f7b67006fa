// Neon's remote layout: object keys for a timeline's index and layers, suffixed with the
// generation that wrote them, and the parse of an index key back to its generation.
#include "gencontrol/remote_layout.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

namespace gencontrol::client {
namespace {
constexpr std::string_view kIndexName = "index_part.json";

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
}  // namespace

std::string generation_suffix(Generation generation) {
    if (generation == kNoGeneration) return "";
    char buf[16];
    std::snprintf(buf, sizeof buf, "-%08x", generation);
    return buf;
}

std::string timelines_prefix(std::string_view tenant_shard_id) {
    return "tenants/" + std::string(tenant_shard_id) + "/timelines/";
}

std::string timeline_prefix(std::string_view tenant_shard_id, std::string_view timeline_id) {
    return timelines_prefix(tenant_shard_id) + std::string(timeline_id) + "/";
}

std::string index_key(std::string_view tenant_shard_id, std::string_view timeline_id, Generation generation) {
    return timeline_prefix(tenant_shard_id, timeline_id) + std::string(kIndexName) +
           generation_suffix(generation);
}

std::string layer_key(std::string_view tenant_shard_id, std::string_view timeline_id,
                      std::string_view layer_name, Generation layer_generation) {
    return timeline_prefix(tenant_shard_id, timeline_id) + std::string(layer_name) +
           generation_suffix(layer_generation);
}

std::optional<Generation> parse_index_generation(std::string_view key) {
    std::string_view name = key.substr(key.rfind('/') == std::string_view::npos ? 0 : key.rfind('/') + 1);
    if (!name.starts_with(kIndexName)) return std::nullopt;
    std::string_view rest = name.substr(kIndexName.size());
    if (rest.empty()) return kNoGeneration;
    if (rest.size() != 9 || rest[0] != '-' || !is_lower_hex(rest.substr(1))) return std::nullopt;
    unsigned long value = std::stoul(std::string(rest.substr(1)), nullptr, 16);
    if (value == 0) return std::nullopt;
    return static_cast<Generation>(value);
}

bool is_valid_timeline_id(std::string_view timeline_id) {
    return timeline_id.size() == 32 && std::all_of(timeline_id.begin(), timeline_id.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c));
           });
}

bool is_valid_layer_name(std::string_view layer_name) {
    return !layer_name.empty() && layer_name.size() <= 255 &&
           layer_name.find('/') == std::string_view::npos && layer_name != "." && layer_name != ".." &&
           !layer_name.starts_with("index_part.json") && !layer_name.starts_with(".");
}

}  // namespace gencontrol::client

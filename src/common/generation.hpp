// The generation rules: the valid range and how the next generation is chosen.
// Shared by the extension (which issues generations) and the shim (which checks wire values).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace gencontrol {

// Generations are PostgreSQL integers: 1 .. 2^31-1. Neon's wire type is u32, so a value
// above this range can arrive over HTTP but can never have been issued.
inline constexpr std::int64_t kFirstGeneration = 1;
inline constexpr std::int64_t kMaxGeneration = std::numeric_limits<std::int32_t>::max();

constexpr bool is_valid_generation(std::int64_t generation) {
    return generation >= kFirstGeneration && generation <= kMaxGeneration;
}

// The generation an attach issues: one above the current one (1 for a new shard), raised to
// min_generation when that is higher. Empty when the shard has run out of generations:
// the caller must fail rather than wrap.
constexpr std::optional<std::int32_t> next_generation(std::optional<std::int32_t> current,
                                                      std::optional<std::int32_t> min_generation) {
    std::int64_t next = current ? std::int64_t{*current} + 1 : kFirstGeneration;
    if (min_generation && *min_generation > next) next = *min_generation;
    if (next > kMaxGeneration) return std::nullopt;
    return static_cast<std::int32_t>(next);
}

}  // namespace gencontrol

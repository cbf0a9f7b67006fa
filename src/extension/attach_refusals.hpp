// The refusals gen_attach makes whatever the data layout (1.1's per-node epochs or 1.0's
// statements, kept for a database not yet updated), so both paths answer in the same words.
#pragma once

#include <cstdint>
#include <string>

#include "generation.hpp"
#include "guards.hpp"
#include "tenant_shard_id_type.hpp"

namespace gencontrol {

// A live shard keeps the stripe size it was created with.
[[noreturn]] inline void refuse_stripe_size_change(Datum tenant, std::int32_t stored, std::int32_t asked) {
    pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
              "gen_attach: tenant shard " + tenant_shard_id_text(tenant) + " has stripe size " +
                  std::to_string(stored) + ", not " + std::to_string(asked),
              "The stripe size is set when the shard is created and never changes.",
              "Pass NULL (or the stored value) as stripe_size.");
}

// The shard's next generation would pass kMaxGeneration.
[[noreturn]] inline void refuse_used_up_generations(Datum tenant) {
    pg::raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
              "tenant shard " + tenant_shard_id_text(tenant) + " has used up its generations (" +
                  std::to_string(kMaxGeneration) + ")",
              "Generations never wrap: a wrapped generation would be lower than one already issued.",
              "Give the tenant shard a new id (for example a new shard count).");
}

}  // namespace gencontrol

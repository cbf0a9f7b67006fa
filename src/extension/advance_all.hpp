// The parts of gen_advance_all its two bodies share (advance_all.cpp for 1.1,
// v1_0/advance_all.cpp for a database still at 1.0): the exhausted shards' warnings, the refusal.
#pragma once

#include <cstdint>

namespace gencontrol {

// Rows 1.. of an advance statement's SPI result (tenant in column 2, the node it left in 3):
// one WARNING per shard that could not take the whole margin.
void warn_exhausted_shards(std::uint64_t rows);

// Under REPEATABLE READ or SERIALIZABLE: `seen` shards with a generation in the transaction's
// snapshot (all locked and raised), `all` in the latest one. Shard rows are never deleted, so
// more in the latest means shards the call could not raise: 40001.
void refuse_unseen_shards(std::int64_t seen, std::int64_t all);

}  // namespace gencontrol

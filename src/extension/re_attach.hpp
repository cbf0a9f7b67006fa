// The parts of gen_re_attach its two bodies share (re_attach.cpp for 1.1, v1_0/re_attach.cpp for
// a database still at 1.0): whether a node may re-attach, the exhausted shard's warning, the secondaries.
#pragma once

#include <cstdint>
#include <string>

#include "statements.hpp"

namespace gencontrol {

// Reads row 0 of the node's locked row (`rows` of them: status text, owner_role text) and
// raises unless the node may re-attach now: registered (P0002), not deleted (55000), and, when
// bound with node_bind_role, called by that role or a controller (42501). Returns its status.
std::string check_re_attaching_node(std::int64_t node, std::uint64_t rows);

// The WARNING for a shard at the last generation that the re-attach detaches from `node`.
void warn_exhausted_shard(Datum tenant, std::int64_t node);

// Appends the node's secondary locations (`secondaries` run for the node: tenant, stripe_size)
// to the result as 'Secondary' rows without a generation.
void return_secondaries(spi::Statement& secondaries, Datum* node_arg, ReturnSetInfo* rsinfo, Datum secondary);

}  // namespace gencontrol

// Invariants 2 and 4: a transaction that changed gencontrol's state commits durably, and writers
// and validate refuse to run on a hot standby.
#pragma once

namespace gencontrol {

// Raises SQLSTATE 25006 naming `operation` when this server is a hot standby.
void require_primary(const char* operation);

// Marks this transaction as one that changed state: its commit is flushed and waits
// for a synchronous standby, whatever synchronous_commit the caller or server set.
void issue_durably();

// Registers the transaction callback; called once from _PG_init.
void register_durability_callback();

}  // namespace gencontrol

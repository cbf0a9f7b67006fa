// The read barrier in front of gen_validate (invariant 3 across a failover): before answering,
// prove that this server still leads a synchronous standby that follows it now.
#pragma once

namespace gencontrol {

// gencontrol.validate_read_barrier: on unless a superuser turns it off (for control runs).
extern bool validate_read_barrier;

// With synchronous standbys configured, writes and flushes a WAL record of its own and returns
// once a synchronous standby has confirmed flushing it. If the wait ends without that
// confirmation (cancel, statement_timeout, termination), raises 57014 naming `operation`:
// a primary cut off while its standby was promoted must answer nothing. Without synchronous
// standbys, or with the setting off, it does nothing and writes no WAL.
void read_barrier(const char* operation);

}  // namespace gencontrol

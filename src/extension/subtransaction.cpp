// Internal subtransactions for the writers' lock retry (shard_lock.cpp, advance_all.cpp): begin,
// keep, or roll back, restoring the caller's memory context and resource owner each time.
#include "subtransaction.hpp"

#include "guards.hpp"

namespace gencontrol {

Subtransaction::Subtransaction() : context_(CurrentMemoryContext), owner_(CurrentResourceOwner) {
    pg::call([] { BeginInternalSubTransaction(nullptr); });
    // BeginInternalSubTransaction switches to the subtransaction's own context: allocations of
    // the caller (results it keeps) must not vanish with a rollback.
    MemoryContextSwitchTo(context_);
}

void Subtransaction::release() {
    pg::call([] { ReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(context_);
    CurrentResourceOwner = owner_;
}

void Subtransaction::rollback() {
    pg::call([] { RollbackAndReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(context_);
    CurrentResourceOwner = owner_;
}

}  // namespace gencontrol

// Projected versus visible remote_consistent_lsn: progress becomes visible only after a validate
// that was sent after the upload confirmed the generation.
#include "gencontrol/remote_consistent_lsn.hpp"

#include <algorithm>

namespace gencontrol::client {

void RemoteConsistentLsn::index_uploaded(std::uint64_t lsn) {
    std::lock_guard lock(mutex_);
    projected_ = std::max(projected_, lsn);
}

std::uint64_t RemoteConsistentLsn::projected() const {
    std::lock_guard lock(mutex_);
    return projected_;
}

void RemoteConsistentLsn::validated(std::uint64_t projected_at_request) {
    std::lock_guard lock(mutex_);
    visible_ = std::max(visible_, std::min(projected_at_request, projected_));
}

std::uint64_t RemoteConsistentLsn::visible() const {
    std::lock_guard lock(mutex_);
    return visible_;
}

void RemoteConsistentLsn::reset(std::uint64_t lsn) {
    std::lock_guard lock(mutex_);
    projected_ = lsn;
    visible_ = lsn;
}

}  // namespace gencontrol::client

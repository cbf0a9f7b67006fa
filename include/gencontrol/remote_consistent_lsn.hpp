// A timeline's upload progress as others may rely on it: `projected` is the LSN of the last
// uploaded index; it becomes `visible` only after a validate sent later confirmed the generation.
#pragma once

#include <cstdint>
#include <mutex>

namespace gencontrol::client {

// Why two values: an index uploaded by a node whose generation was already superseded may be
// ignored by the newer node, so its LSN promises nothing until a validate proves the node was
// still current after the upload. Only `visible` may be published (to safekeepers, to users).
// Thread-safe.
class RemoteConsistentLsn {
public:
    // An index covering `lsn` is uploaded (never moves backwards).
    void index_uploaded(std::uint64_t lsn);
    // Take this before sending a validate; pass it to validated() if the answer was valid.
    std::uint64_t projected() const;
    // The generation was valid after the index covering `projected_at_request` was uploaded.
    void validated(std::uint64_t projected_at_request);
    std::uint64_t visible() const;
    // Attached from an index written by an earlier attachment: both start at its LSN (it was
    // visible to us by the very fact that we, with a newer generation, read it).
    void reset(std::uint64_t lsn);

private:
    mutable std::mutex mutex_;
    std::uint64_t projected_ = 0;
    std::uint64_t visible_ = 0;
};

}  // namespace gencontrol::client

// The node's deletion queue: object keys to delete, persisted under {workdir}/deletion/, run only
// after the generation service confirmed the generation that scheduled them is still current.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gencontrol/generation_client.hpp"
#include "gencontrol/object_store.hpp"
#include "gencontrol/status.hpp"

namespace gencontrol::client {

// Keys, counted since this queue was opened (a process's life). Keys a previous process left on
// disk count as submitted again when open() reads them, so in every process
//   submitted = executed + dropped + pending_keys(),  executed <= validated <= submitted.
struct DeletionCounters {
    std::uint64_t submitted = 0;  // pushed, found on disk at open(), or discarded by their holder
    std::uint64_t validated = 0;  // generation confirmed current (or recovered as validated)
    std::uint64_t executed = 0;   // deleted from the store
    std::uint64_t dropped = 0;    // never to be deleted: their generation was stale (or moved on)
};

// On disk (Neon's scheme): each flushed batch is a list `{sequence:016x}-01.list`, JSON
//   {"version": 1, "sequence": N, "tenants": {"<tenant_shard_id>": {"generation": G,
//    "objects": ["<key>", ...]}}, "validated": false}
// and `header-01` holds {"version": 1, "validated_sequence": N}: every list at or below it passed
// validation. Both are written with temp file, fsync, rename, fsync of the directory.
//
// Rules: a list runs only after a validate (one batched call: per tenant shard, the highest pending
// generation) said its generation is current; entries of a stale generation are dropped and
// counted. After a restart, recover() runs lists at or below the validated sequence without asking
// again, relabels entries one generation behind a shard the node holds now (its own re-attach
// moved it by one) to the current generation, and validates every other entry under its own.
// Thread-safe: push() never waits for the generation service, flush() may (it retries forever).
// (Neon gathers pushes in memory and persists them in batches; here every push is one durable
// list, so a node killed right after a compaction answered still knows what to delete.)
class DeletionQueue {
public:
    static Result<std::unique_ptr<DeletionQueue>> open(const std::string& workdir, ObjectStore& store,
                                                       GenerationClient* generations);

    // Queues keys scheduled by `tenant_shard_id` while it held `generation`: written durably as a
    // new list before it returns. On failure nothing is queued (the objects leak, nothing more).
    Status push(const std::string& tenant_shard_id, Generation generation,
                const std::vector<std::string>& keys);

    // Keys the caller held back instead of pushing (a shard in AttachedMulti or AttachedStale) and
    // now gives up because the shard's generation moved on: nothing is written or deleted; they are
    // counted as submitted and dropped, like a stale list, so every key scheduled is accounted for.
    void discard(std::uint64_t keys);

    // Call once at start, before push(), with the shards re-attach returned and their generations.
    Status recover(const std::map<std::string, Generation>& attached);

    // With `execute`, validates every unvalidated list and runs or drops them all (without, it
    // only waits for a flush in progress: pushes are already on disk). kCancelled when shutdown interrupted
    // the validate (nothing is lost: the lists stay on disk).
    Status flush(bool execute);

    DeletionCounters counters() const;
    // Keys pushed but neither executed nor dropped yet.
    std::uint64_t pending_keys() const;

private:
    struct List;
    DeletionQueue(std::string dir, ObjectStore& store, GenerationClient* generations);
    Status write_header(std::uint64_t validated_sequence);
    Status execute(const List& list);
    static std::string encode_list(const List& list);

    std::string dir_;
    ObjectStore& store_;
    GenerationClient* generations_;  // nullptr: no generations, every list runs (control runs)

    mutable std::mutex mutex_;                  // lists_, counters_, next_sequence_
    std::mutex flush_mutex_;                    // one flush at a time
    std::vector<std::shared_ptr<List>> lists_;  // persisted, not yet run, in sequence order
    std::uint64_t next_sequence_ = 1;
    std::uint64_t validated_sequence_ = 0;
    DeletionCounters counters_;
};

}  // namespace gencontrol::client

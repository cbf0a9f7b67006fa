// (1.1) Node epochs: an attached shard's generation is base_generation + (its node's epoch -
// base_epoch). Reads them by direct probes of gencontrol.nodes, and vouches for gen_re_attach's bump.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>

#include "pg.hpp"

namespace gencontrol {

struct NodeState {
    std::int64_t epoch = 0;
    bool deleted = false;
};

// Reads gencontrol.nodes rows under one snapshot for the duration of one SQL call, remembering
// each node it has read (a batch validate meets the same few nodes many times). A node's row is
// fetched at the heap position where this backend last found it (following its HOT chain, as an
// index scan would), and looked up through the primary key only when it is not there: the hot
// path of gen_validate then opens no index. A PostgreSQL error in between aborts the
// transaction, which releases what open() took.
class NodeEpochs {
public:
    void open(Snapshot snapshot);
    std::optional<NodeState> find(std::int64_t node);
    void close();

private:
    std::optional<NodeState> read_slot(std::int64_t node);
    std::optional<NodeState> probe_index(std::int64_t node);

    Relation table_ = nullptr;
    Relation index_ = nullptr;
    IndexScanDesc scan_ = nullptr;
    IndexFetchTableData* fetch_ = nullptr;
    TupleTableSlot* slot_ = nullptr;
    Snapshot snapshot_ = nullptr;
    // The nodes read in this call: the first few inline (a single validate or attach meets one,
    // and allocates nothing), any more in the map.
    static constexpr int kInline = 8;
    struct Seen {
        std::int64_t node;
        std::optional<NodeState> state;
    };
    Seen inline_seen_[kInline];
    int inline_count_ = 0;
    std::unordered_map<std::int64_t, std::optional<NodeState>> more_seen_;
    const std::optional<NodeState>* seen(std::int64_t node) const;
    void remember(std::int64_t node, const std::optional<NodeState>& state);
};

// The current generation of a shard stored as (base_generation, base_epoch) on a node now at
// `epoch`; 64 bits, so that a value past the last generation can be seen and refused.
constexpr std::int64_t current_generation(std::int64_t base_generation, std::int64_t base_epoch,
                                          std::int64_t epoch) {
    return base_generation + (epoch - base_epoch);
}

// gen_re_attach has checked that no shard of `node` passes the last generation at `epoch`: the
// nodes guard then skips its own scan for that update, in this transaction only.
void vouch_for_epoch(std::int64_t node, std::int64_t epoch);
bool epoch_vouched_for(std::int64_t node, std::int64_t epoch);

// Registers the relcache callback that forgets the cached shape of gencontrol.nodes.
void register_node_epochs_invalidation();

}  // namespace gencontrol

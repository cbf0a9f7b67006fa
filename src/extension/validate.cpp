// gen_validate, single and batch: is this generation still the shard's current one?
// Reads with the latest snapshot, so a REPEATABLE READ caller cannot see a stale answer, and
// probes the primary key directly; a batch is probed in key order for locality.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "attached_shards.hpp"
#include "guards.hpp"
#include "layout.hpp"
#include "prologue.hpp"
#include "read_barrier.hpp"
#include "shard_lookup.hpp"
#include "tenant_shard_id_type.hpp"

namespace pg = gencontrol::pg;

namespace {

// A snapshot taken now: sees every transaction that committed before this call began.
Snapshot fresh_snapshot() {
    return pg::call([] { return GetLatestSnapshot(); });
}

struct Pairs {
    Datum* tenants;
    bool* tenant_nulls;
    Datum* generations;
    bool* generation_nulls;
    int count;
};

Pairs deconstruct(ArrayType* tenants, ArrayType* generations) {
    Pairs pairs{};
    int generation_count = 0;
    pg::call([&] {
        if (ARR_NDIM(tenants) > 1 || ARR_NDIM(generations) > 1)
            ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                            errmsg("gen_validate: tenants and generations must be one-dimensional arrays")));
        deconstruct_array(tenants, ARR_ELEMTYPE(tenants), gencontrol::TenantShardId::kSize, false,
                          TYPALIGN_CHAR, &pairs.tenants, &pairs.tenant_nulls, &pairs.count);
        deconstruct_array(generations, INT4OID, 4, true, TYPALIGN_INT, &pairs.generations,
                          &pairs.generation_nulls, &generation_count);
    });
    if (pairs.count != generation_count)
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                  "gen_validate: tenants and generations must have the same length (got " +
                      std::to_string(pairs.count) + " and " + std::to_string(generation_count) + ")");
    return pairs;
}

// An id's 18 bytes as three integers that compare in the same order as the bytes do (the
// btree order, memcmp): the sort and the merge compare integers instead of calling memcmp
// through a pointer per comparison, which was a fifth of a 10,000-id call's profile.
struct SortKey {
    std::uint64_t high;
    std::uint64_t low;
    std::uint16_t shard;
    int position;  // in the input

    static SortKey of(const std::uint8_t* bytes, int position) {
        std::uint64_t high, low;
        std::memcpy(&high, bytes, 8);
        std::memcpy(&low, bytes + 8, 8);
        return {__builtin_bswap64(high), __builtin_bswap64(low),
                static_cast<std::uint16_t>(bytes[16] << 8 | bytes[17]), position};
    }
    int compare(const SortKey& other) const {
        if (high != other.high) return high < other.high ? -1 : 1;
        if (low != other.low) return low < other.low ? -1 : 1;
        return shard < other.shard ? -1 : shard > other.shard ? 1 : 0;
    }
    bool operator<(const SortKey& other) const { return compare(other) < 0; }
};
static_assert(gencontrol::TenantShardId::kSize == 18, "SortKey packs 16 tenant bytes, shard number and count");

SortKey key_of(Datum tenant, int position) {
    return SortKey::of(gencontrol::tenant_shard_id_from_datum(tenant)->bytes, position);
}

// Raised out of the sort's comparison when PostgreSQL has an interrupt pending, so that
// sorting millions of ids honours cancellation and statement_timeout (finding 6 of issue 9)
// without a longjmp through std::sort.
struct InterruptPendingDuringSort {};

// Sorts the keys, checking for interrupts every 65,536 comparisons.
void sort_keys(std::vector<SortKey>& keys) {
    std::uint64_t comparisons = 0;
    bool check = true;
    auto less = [&](const SortKey& a, const SortKey& b) {
        if (check && (++comparisons & 0xFFFF) == 0 && InterruptPending) throw InterruptPendingDuringSort{};
        return a < b;
    };
    for (;;) {
        try {
            std::sort(keys.begin(), keys.end(), less);
            return;
        } catch (const InterruptPendingDuringSort&) {
            pg::call([] { CHECK_FOR_INTERRUPTS(); });  // raises for a cancel or a timeout
            check = !InterruptPending;                  // held off: finish without checking
        }
    }
}

// A batch usually holds the shards of one node. When it is large, read that node's entries of
// the index tenant_shards_attached_node in key order (sequential leaf pages, no table visits
// where the visibility map allows) and merge them with the sorted input, instead of one
// descent of the primary key per id. Gives up once it has read four entries per input id (a
// small batch of a large node), leaving the rest to the probes. Fills `states` and `resolved`.
constexpr std::size_t kMergeMinimum = 256;

void merge_with_node(const Pairs& pairs, const std::vector<SortKey>& keys, Snapshot snapshot,
                     gencontrol::ShardLookup& lookup, std::vector<gencontrol::ShardState>& states,
                     std::vector<bool>& resolved) {
    // The node of one of the first few ids (an early one may be detached or unknown).
    gencontrol::ShardState first;
    for (std::size_t at = 0; at < std::min<std::size_t>(keys.size(), 8) && !first.node; ++at)
        first = lookup.find(pairs.tenants[keys[at].position]);
    if (!first.node) return;
    auto node = lookup.node(*first.node);
    if (!node) return;
    std::size_t position = 0, read = 0, budget = 4 * keys.size();
    pg::call([&] {
        gencontrol::for_each_attached_shard(*first.node, snapshot, [&](const gencontrol::AttachedShard& shard) {
            if (++read > budget) return false;
            SortKey entry = key_of(shard.id, -1);
            while (position < keys.size() && keys[position].compare(entry) < 0) ++position;
            if (position == keys.size()) return false;
            while (position < keys.size() && keys[position].compare(entry) == 0) {
                int at = keys[position].position;
                gencontrol::ShardState& state = states[at];
                state.known = true;
                state.node = *first.node;
                state.generation = gencontrol::current_generation(shard.base_generation, shard.base_epoch, node->epoch);
                resolved[at] = true;
                ++position;
            }
            return true;
        });
    });
}

// Current state of every input position, probing each distinct key once, in key order.
std::vector<gencontrol::ShardState> probe_all(const Pairs& pairs) {
    std::vector<SortKey> keys;
    keys.reserve(pairs.count);
    for (int i = 0; i < pairs.count; ++i)
        if (!pairs.tenant_nulls[i]) keys.push_back(key_of(pairs.tenants[i], i));
    sort_keys(keys);

    std::vector<gencontrol::ShardState> states(pairs.count);
    std::vector<bool> resolved(pairs.count, false);
    Snapshot snapshot = pg::call([] { return RegisterSnapshot(GetLatestSnapshot()); });
    gencontrol::ShardLookup lookup;
    lookup.open(snapshot);
    if (keys.size() >= kMergeMinimum && gencontrol::layout() == gencontrol::Layout::node_epochs)
        merge_with_node(pairs, keys, snapshot, lookup, states, resolved);
    const SortKey* previous = nullptr;
    gencontrol::ShardState previous_state;
    for (const SortKey& key : keys) {
        int i = key.position;
        if (resolved[i]) continue;
        if (!previous || previous->compare(key) != 0) {
            previous_state = lookup.find(pairs.tenants[i]);
            previous = &key;
        }
        states[i] = previous_state;
    }
    lookup.close();
    pg::call([&] { UnregisterSnapshot(snapshot); });
    return states;
}

}  // namespace

GENCONTROL_FUNCTION(gen_validate) {
    gencontrol::begin_call(fcinfo, "gen_validate", {}, "");
    gencontrol::read_barrier("gen_validate");
    std::int32_t generation = PG_GETARG_INT32(1);
    gencontrol::ShardLookup lookup;
    lookup.open(fresh_snapshot());
    gencontrol::ShardState state = lookup.find(PG_GETARG_DATUM(0));
    lookup.close();
    if (!state.known) {
        fcinfo->isnull = true;
        return Datum(0);
    }
    return BoolGetDatum(state.generation == generation);
}

GENCONTROL_FUNCTION(gen_validate_batch) {
    gencontrol::begin_call(fcinfo, "gen_validate", {}, "");
    gencontrol::read_barrier("gen_validate");
    pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    ArrayType* tenants = pg::call([&] { return PG_GETARG_ARRAYTYPE_P(0); });
    ArrayType* generations = pg::call([&] { return PG_GETARG_ARRAYTYPE_P(1); });
    Pairs pairs = deconstruct(tenants, generations);
    if (pairs.count == 0) return Datum(0);

    std::vector<gencontrol::ShardState> states = probe_all(pairs);
    pg::call([&] {
        for (int i = 0; i < pairs.count; ++i) {
            // A batch of millions honours cancellation and statement_timeout (finding 6 of issue 9).
            CHECK_FOR_INTERRUPTS();
            if (pairs.tenant_nulls[i] || !states[i].known) continue;
            Datum values[2] = {pairs.tenants[i], 0};
            bool nulls[2] = {false, pairs.generation_nulls[i]};
            if (!nulls[1])
                values[1] = BoolGetDatum(states[i].generation == DatumGetInt32(pairs.generations[i]));
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        }
    });
    return Datum(0);
}

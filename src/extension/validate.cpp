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

const std::uint8_t* key_bytes(Datum tenant) {
    return gencontrol::tenant_shard_id_from_datum(tenant)->bytes;
}

// Raised out of the sort's comparison when PostgreSQL has an interrupt pending, so that
// sorting millions of ids honours cancellation and statement_timeout (finding 6 of issue 9)
// without a longjmp through std::sort.
struct InterruptPendingDuringSort {};

// Sorts input positions by key, checking for interrupts every 65,536 comparisons.
void sort_by_key(std::vector<int>& order, const Pairs& pairs) {
    std::uint64_t comparisons = 0;
    bool check = true;
    auto less = [&](int a, int b) {
        if (check && (++comparisons & 0xFFFF) == 0 && InterruptPending) throw InterruptPendingDuringSort{};
        return std::memcmp(key_bytes(pairs.tenants[a]), key_bytes(pairs.tenants[b]),
                           gencontrol::TenantShardId::kSize) < 0;
    };
    for (;;) {
        try {
            std::sort(order.begin(), order.end(), less);
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

void merge_with_node(const Pairs& pairs, const std::vector<int>& order, Snapshot snapshot,
                     gencontrol::ShardLookup& lookup, std::vector<gencontrol::ShardState>& states,
                     std::vector<bool>& resolved) {
    // The node of one of the first few ids (an early one may be detached or unknown).
    gencontrol::ShardState first;
    for (std::size_t at = 0; at < std::min<std::size_t>(order.size(), 8) && !first.node; ++at)
        first = lookup.find(pairs.tenants[order[at]]);
    if (!first.node) return;
    auto node = lookup.node(*first.node);
    if (!node) return;
    std::size_t position = 0, read = 0, budget = 4 * order.size();
    pg::call([&] {
        gencontrol::for_each_attached_shard(*first.node, snapshot, [&](const gencontrol::AttachedShard& shard) {
            if (++read > budget) return false;
            const std::uint8_t* entry = gencontrol::tenant_shard_id_from_datum(shard.id)->bytes;
            auto compare = [&](std::size_t at) {
                return std::memcmp(key_bytes(pairs.tenants[order[at]]), entry, gencontrol::TenantShardId::kSize);
            };
            while (position < order.size() && compare(position) < 0) ++position;
            if (position == order.size()) return false;
            while (position < order.size() && compare(position) == 0) {
                gencontrol::ShardState& state = states[order[position]];
                state.known = true;
                state.node = *first.node;
                state.generation = gencontrol::current_generation(shard.base_generation, shard.base_epoch, node->epoch);
                resolved[order[position]] = true;
                ++position;
            }
            return true;
        });
    });
}

// Current state of every input position, probing each distinct key once, in key order.
std::vector<gencontrol::ShardState> probe_all(const Pairs& pairs) {
    std::vector<int> order;
    order.reserve(pairs.count);
    for (int i = 0; i < pairs.count; ++i)
        if (!pairs.tenant_nulls[i]) order.push_back(i);
    sort_by_key(order, pairs);

    std::vector<gencontrol::ShardState> states(pairs.count);
    std::vector<bool> resolved(pairs.count, false);
    Snapshot snapshot = pg::call([] { return RegisterSnapshot(GetLatestSnapshot()); });
    gencontrol::ShardLookup lookup;
    lookup.open(snapshot);
    if (order.size() >= kMergeMinimum && gencontrol::layout() == gencontrol::Layout::node_epochs)
        merge_with_node(pairs, order, snapshot, lookup, states, resolved);
    const std::uint8_t* previous = nullptr;
    gencontrol::ShardState previous_state;
    for (int i : order) {
        if (resolved[i]) continue;
        const std::uint8_t* key = key_bytes(pairs.tenants[i]);
        if (!previous || std::memcmp(previous, key, gencontrol::TenantShardId::kSize) != 0) {
            previous_state = lookup.find(pairs.tenants[i]);
            previous = key;
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

// gen_validate, single and batch: is this generation still the shard's current one?
// Reads with the latest snapshot, so a REPEATABLE READ caller cannot see a stale answer.
#include <string>
#include <vector>

#include "durability.hpp"
#include "guards.hpp"
#include "statements.hpp"
#include "tenant_shard_id_type.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

spi::Statement current_generation(
    "SELECT generation FROM gencontrol.tenant_shards "
    "WHERE id OPERATOR(gencontrol.=) $1 AND deleted_at IS NULL",
    "T");

spi::Statement current_generations(
    "SELECT u.ord, t.generation FROM unnest($1) WITH ORDINALITY AS u(id, ord) "
    "JOIN gencontrol.tenant_shards t ON t.id OPERATOR(gencontrol.=) u.id AND t.deleted_at IS NULL",
    "A");

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
    Oid tenant_type = spi::tenant_shard_id_type();
    pg::call([&] {
        if (ARR_NDIM(tenants) > 1 || ARR_NDIM(generations) > 1)
            ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
                            errmsg("gen_validate: tenants and generations must be one-dimensional arrays")));
        deconstruct_array(tenants, tenant_type, 18, false, TYPALIGN_CHAR, &pairs.tenants,
                          &pairs.tenant_nulls, &pairs.count);
        deconstruct_array(generations, INT4OID, 4, true, TYPALIGN_INT, &pairs.generations,
                          &pairs.generation_nulls, &generation_count);
    });
    if (pairs.count != generation_count)
        pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                  "gen_validate: tenants and generations must have the same length (got " +
                      std::to_string(pairs.count) + " and " + std::to_string(generation_count) + ")");
    return pairs;
}

}  // namespace

GENCONTROL_FUNCTION(gen_validate) {
    return pg::entry([&] {
        gencontrol::require_primary("gen_validate");
        Datum key[] = {PG_GETARG_DATUM(0)};
        std::int32_t generation = PG_GETARG_INT32(1);
        spi::connect();
        bool found = current_generation.run(key, nullptr, true, fresh_snapshot()) > 0;
        auto current = found ? spi::int32_value(0, 1) : std::nullopt;
        spi::finish();
        if (!found) {
            fcinfo->isnull = true;
            return Datum(0);
        }
        return BoolGetDatum(current && *current == generation);
    });
}

GENCONTROL_FUNCTION(gen_validate_batch) {
    return pg::entry([&] {
        gencontrol::require_primary("gen_validate");
        pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
        auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
        Pairs pairs = deconstruct(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1));
        if (pairs.count == 0) return Datum(0);

        // Current generation per input position; -1 marks an unknown shard.
        std::vector<std::int64_t> current(pairs.count, -1);
        spi::connect();
        Datum args[] = {PG_GETARG_DATUM(0)};
        std::uint64_t rows = current_generations.run(args, nullptr, true, fresh_snapshot());
        for (std::uint64_t row = 0; row < rows; ++row) {
            auto ord = spi::int64_value(row, 1);
            auto generation = spi::int32_value(row, 2);
            if (ord) current[*ord - 1] = generation ? *generation : 0;
        }
        spi::finish();

        pg::call([&] {
            for (int i = 0; i < pairs.count; ++i) {
                if (pairs.tenant_nulls[i] || current[i] < 0) continue;
                Datum values[2] = {pairs.tenants[i], 0};
                bool nulls[2] = {false, pairs.generation_nulls[i]};
                if (!nulls[1]) values[1] = BoolGetDatum(current[i] == DatumGetInt32(pairs.generations[i]));
                tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
            }
        });
        return Datum(0);
    });
}

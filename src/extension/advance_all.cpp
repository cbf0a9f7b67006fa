// gen_advance_all: after a restore from backup, lifts every generation (tombstones too)
// above any that may have been handed out after the backup, in one logged transaction.
#include <string>

#include "durability.hpp"
#include "generation.hpp"
#include "guards.hpp"
#include "statements.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

spi::Statement highest("SELECT max(generation) FROM gencontrol.tenant_shards", "");

spi::Statement advance(R"SQL(
WITH locked AS MATERIALIZED (
    SELECT id, generation FROM gencontrol.tenant_shards
     WHERE generation IS NOT NULL ORDER BY id FOR NO KEY UPDATE),
bumped AS (
    UPDATE gencontrol.tenant_shards t
       SET generation = l.generation + $1, updated_at = now()
      FROM locked l
     WHERE t.id OPERATOR(gencontrol.=) l.id
    RETURNING t.id, l.generation AS old_generation, t.generation, t.attached_node),
logged AS (
    INSERT INTO gencontrol.generation_log (tenant, old_generation, new_generation, node, operation, role)
    SELECT id, old_generation, generation, attached_node, 'advance_all', session_user FROM bumped)
SELECT count(*) FROM bumped
)SQL",
                       "i");

}  // namespace

GENCONTROL_FUNCTION(gen_advance_all) {
    return pg::entry([&] {
        gencontrol::require_primary("gen_advance_all");
        if (PG_ARGISNULL(0))
            pg::raise(ERRCODE_NULL_VALUE_NOT_ALLOWED, "gen_advance_all: margin must not be NULL");
        std::int32_t margin = PG_GETARG_INT32(0);
        if (margin <= 0)
            pg::raise(ERRCODE_INVALID_PARAMETER_VALUE,
                      "gen_advance_all: margin must be positive, got " + std::to_string(margin));
        spi::connect();
        highest.run(nullptr, nullptr, false);
        auto top = spi::int32_value(0, 1);
        if (top && std::int64_t{*top} + margin > gencontrol::kMaxGeneration)
            pg::raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                      "gen_advance_all: margin " + std::to_string(margin) + " would lift generation " +
                          std::to_string(*top) + " above 2147483647",
                      "Nothing was changed.", "Use a smaller margin.");
        Datum args[] = {Int32GetDatum(margin)};
        advance.run(args, nullptr, false);
        std::int64_t changed = spi::int64_value(0, 1).value_or(0);
        gencontrol::issue_durably();
        spi::finish();
        return Int64GetDatum(changed);
    });
}

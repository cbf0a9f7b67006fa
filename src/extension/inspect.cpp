// gen_inspect: the current generation and node of one shard, for operators and tests.
// It only reads, so unlike gen_validate it may run on a standby.
#include "guards.hpp"
#include "statements.hpp"

namespace pg = gencontrol::pg;
namespace spi = gencontrol::spi;

namespace {

spi::Statement attachment(
    "SELECT generation, attached_node FROM gencontrol.tenant_shards "
    "WHERE id OPERATOR(gencontrol.=) $1 AND deleted_at IS NULL",
    "T");

}  // namespace

GENCONTROL_FUNCTION(gen_inspect) {
    pg::call([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    Datum key[] = {PG_GETARG_DATUM(0)};
    spi::connect();
    if (attachment.run(key, nullptr, true) > 0) {
        pg::call([&] {
            bool nulls[2];
            Datum values[2] = {spi::value(0, 1, &nulls[0]), spi::value(0, 2, &nulls[1])};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
    }
    spi::finish();
    return Datum(0);
}

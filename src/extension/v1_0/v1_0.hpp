// The SQL entry points' bodies for a database whose gencontrol schema is still 1.0's (the
// library is replaced before ALTER EXTENSION UPDATE runs): the 1.0 statements, kept as they were.
#pragma once

#include <cstdint>
#include <optional>

#include "pg.hpp"

namespace gencontrol::v1_0 {

// gen_attach and gen_detach on 1.0's tables, called by the 1.1 entry points (attach.cpp) once
// they checked the call and its arguments, inside their SPI connection.
std::int32_t attach(Datum tenant, std::int64_t node, std::optional<std::int32_t> min_generation,
                    std::optional<std::int32_t> stripe_size);
void detach(Datum tenant);
Datum gen_re_attach(FunctionCallInfo fcinfo);
Datum gen_advance_all(FunctionCallInfo fcinfo);

// The 1.0 guard trigger's check of an UPDATE of tenant_shards.generation.
void check_generation_update(TriggerData* trigger);

}  // namespace gencontrol::v1_0

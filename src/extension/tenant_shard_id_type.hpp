// The in-memory form of gencontrol.tenant_shard_id inside PostgreSQL: 18 bytes, passed by
// reference, laid out exactly as gencontrol::TenantShardId::to_bytes writes them.
#pragma once

#include "pg.hpp"
#include "tenant_shard_id.hpp"

namespace gencontrol {

struct TenantShardIdDatum {
    std::uint8_t bytes[TenantShardId::kSize];
};

inline const TenantShardIdDatum* tenant_shard_id_from_datum(Datum d) {
    return reinterpret_cast<const TenantShardIdDatum*>(DatumGetPointer(d));
}

inline TenantShardId to_tenant_shard_id(Datum d) {
    return TenantShardId::from_bytes(tenant_shard_id_from_datum(d)->bytes);
}

// Text form for messages, e.g. "072f...8934-0102".
inline std::string tenant_shard_id_text(Datum d) {
    return to_tenant_shard_id(d).to_string();
}

}  // namespace gencontrol

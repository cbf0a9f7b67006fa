// A per-backend cache of gencontrol.<name> -> OID for the hot writers: a catalog lookup of the
// schema and of the name costs more than the probe it prepares when a call opens four relations.
#include "relation_oids.hpp"

#include <cstring>
#include <utility>
#include <vector>

namespace gencontrol {
namespace {

std::vector<std::pair<const char*, Oid>> known;  // a handful of entries: a scan beats a hash

void forget(Datum, Oid relid) {
    if (!OidIsValid(relid)) {
        known.clear();
        return;
    }
    std::erase_if(known, [&](const auto& entry) { return entry.second == relid; });
}

}  // namespace

Oid relation_oid(const char* name) {
    for (const auto& [known_name, oid] : known)
        if (std::strcmp(known_name, name) == 0) return oid;
    Oid oid = get_relname_relid(name, get_namespace_oid("gencontrol", false));
    if (!OidIsValid(oid)) elog(ERROR, "gencontrol: relation gencontrol.%s is missing", name);
    known.emplace_back(name, oid);
    return oid;
}

void register_relation_oids_invalidation() {
    CacheRegisterRelcacheCallback(forget, Datum(0));
}

}  // namespace gencontrol

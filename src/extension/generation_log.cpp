// generation_log rows for the C++ writers: one INSERT, shared by attach, detach, re-attach and
// gen_advance_all, and the same row appended without SQL, so every operation logs alike.
#include "generation_log.hpp"

#include <memory>
#include <vector>

#include "guards.hpp"
#include "relation_oids.hpp"
#include "table_writer.hpp"

extern "C" {
#include "commands/sequence.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace gencontrol {

std::string logged_change(std::string_view before, std::string_view change, std::string_view result,
                          std::string_view log_table) {
    std::string sql = "WITH ";
    if (!before.empty()) sql.append(before).append(",\n");
    sql.append("changes AS (\n").append(change).append("),\n");
    // session_user, not current_user: the functions run as the extension's owner.
    sql.append(
        "logged AS (\n"
        "    INSERT INTO gencontrol.");
    sql.append(log_table).append(
        " (tenant, old_generation, new_generation, node, operation, role)\n"
        "    SELECT tenant, old_generation, new_generation, node, operation, session_user FROM changes)\n");
    sql.append(result);
    return sql;
}

namespace {

// session_user's name for the history's role column, looked up again only when the session
// user changes (SET SESSION AUTHORIZATION) or any role is renamed or dropped.
Oid named_user = InvalidOid;
NameData user_name;

void forget_user_name(Datum, int, uint32) {
    named_user = InvalidOid;
}

Datum session_user_name() {
    Oid user = GetSessionUserId();
    if (user != named_user) {
        namestrcpy(&user_name, GetUserNameFromId(user, false));
        named_user = user;
    }
    return NameGetDatum(&user_name);
}

}  // namespace

void append_log_entry(const LogEntry& entry) {
    TableWriter log;
    log.open("generation_log_entries");
    int columns = log.descriptor()->natts;
    std::vector<Datum> values(columns, Datum(0));
    std::vector<bool> nulls_vector(columns, true);
    auto set = [&](const char* name, Datum value) {
        AttrNumber at = log.column(name);
        values[at - 1] = value;
        nulls_vector[at - 1] = false;
    };
    pg::call([&] {
        // The column's default, nextval('gencontrol.generation_log_log_id_seq'), called directly.
        set("log_id", Int64GetDatum(nextval_internal(relation_oid("generation_log_log_id_seq"), false)));
        // session_user, not current_user: the functions run as the extension's owner.
        set("role", session_user_name());
        set("operation", CStringGetTextDatum(entry.operation));
        set("logged_at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
    });
    set("tenant", entry.tenant);
    if (entry.old_generation) set("old_generation", Int32GetDatum(*entry.old_generation));
    if (entry.new_generation) set("new_generation", Int32GetDatum(*entry.new_generation));
    if (entry.node) set("node", Int64GetDatum(*entry.node));
    std::unique_ptr<bool[]> nulls(new bool[columns]);
    for (int i = 0; i < columns; ++i) nulls[i] = nulls_vector[i];
    log.insert(values.data(), nulls.get());
    log.close();
}

void register_session_user_invalidation() {
    CacheRegisterSyscacheCallback(AUTHOID, forget_user_name, Datum(0));
}

}  // namespace gencontrol

// generation_log rows for the C++ writers: one INSERT, shared by attach, detach, re-attach and
// gen_advance_all, so the columns and the recorded role are the same for every operation.
#include "generation_log.hpp"

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

}  // namespace gencontrol

// The one place that writes per-shard history rows from C++: every statement that changes a
// shard's generation or attachment is built here around its change, or appends its row here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pg.hpp"

namespace gencontrol {

// Builds one statement:
//   WITH <before>, changes AS (<change>), logged AS (INSERT INTO <log_table> ... FROM changes)
//   <result>
// `change` is a data-modifying statement whose RETURNING list names the columns tenant,
// old_generation, new_generation, node and operation (more may follow); `before` holds earlier CTEs
// (without a trailing comma) or is empty; `result` is the final SELECT, usually FROM changes.
// `log_table` is 1.1's generation_log_entries (the view generation_log reads it), or 1.0's table
// generation_log for the statements of src/extension/v1_0.
std::string logged_change(std::string_view before, std::string_view change, std::string_view result,
                          std::string_view log_table = "generation_log_entries");

}  // namespace gencontrol

namespace gencontrol {

// One per-shard history entry, as logged_change's INSERT writes it.
struct LogEntry {
    Datum tenant;
    std::optional<std::int32_t> old_generation;
    std::optional<std::int32_t> new_generation;
    std::optional<std::int64_t> node;
    const char* operation;  // one of generation_log_operation_check's values
};

// Appends `entry` to generation_log_entries without SQL (a heap insert and its index entries:
// gen_attach's hot path), with the same columns, log_id sequence, role (session_user) and time
// (the transaction's start, as now()) as logged_change.
void append_log_entry(const LogEntry& entry);

// Registers the role-name invalidation behind append_log_entry's role; called once from _PG_init.
void register_session_user_invalidation();

}  // namespace gencontrol

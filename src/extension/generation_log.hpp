// The one place that writes per-shard history rows from C++: every statement that changes a
// shard's generation or attachment is built here around its change, so each change is logged.
#pragma once

#include <string>
#include <string_view>

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

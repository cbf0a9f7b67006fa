// The one place that writes gencontrol.generation_log from C++: every statement that changes a
// shard's generation or attachment is built here around its change, so each change is logged.
#pragma once

#include <string>
#include <string_view>

namespace gencontrol {

// Builds one statement:
//   WITH <before>, changes AS (<change>), logged AS (INSERT INTO generation_log ... FROM changes)
//   <result>
// `change` is a data-modifying statement whose RETURNING list names the columns tenant,
// old_generation, new_generation, node and operation (more may follow); `before` holds earlier CTEs
// (without a trailing comma) or is empty; `result` is the final SELECT, usually FROM changes.
std::string logged_change(std::string_view before, std::string_view change, std::string_view result);

}  // namespace gencontrol

// The first lines of every gencontrol writer and of gen_validate, written once: refuse to run
// on a hot standby, then refuse NULL for the arguments the function cannot do without.
#pragma once

#include <initializer_list>

#include "pg.hpp"

namespace gencontrol {

// Raises 25006 on a hot standby (naming `function`), then 22004 "<function>: <what> must not
// be NULL" when any argument listed in `required` (0-based) is NULL.
void begin_call(FunctionCallInfo fcinfo, const char* function, std::initializer_list<int> required,
                const char* what);

}  // namespace gencontrol

// The shared prologue of gencontrol's SQL entry points: primary-only check and NULL arguments.
// Functions declared STRICT never get here with NULLs; the others list what they require.
#include "prologue.hpp"

#include <string>

#include "durability.hpp"
#include "guards.hpp"

namespace gencontrol {

void begin_call(FunctionCallInfo fcinfo, const char* function, std::initializer_list<int> required,
                const char* what) {
    require_primary(function);
    for (int argument : required)
        if (PG_ARGISNULL(argument))
            pg::raise(ERRCODE_NULL_VALUE_NOT_ALLOWED,
                      std::string(function) + ": " + what + " must not be NULL");
}

}  // namespace gencontrol

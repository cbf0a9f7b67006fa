// The node's log: one timestamped line per event on stderr (tests keep it in a file).
#pragma once

#include <string>

namespace gencontrol::node {
void log_line(const std::string& message);
}

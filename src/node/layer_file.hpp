// The reference node's layer file format: JSON lines, one record per line,
// {"lsn": N, "key": "...", "value": "..."}, in LSN order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gencontrol/index_part.hpp"
#include "gencontrol/status.hpp"

namespace gencontrol::node {

struct Record {
    client::Lsn lsn = 0;
    std::string key;
    std::string value;
};

std::string encode_layer(const std::vector<Record>& records);
// kCorruption for a line that is not a record, or records out of LSN order.
client::Result<std::vector<Record>> decode_layer(std::string_view bytes);

}  // namespace gencontrol::node

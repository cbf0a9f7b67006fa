// Layer files as JSON lines: written by checkpoint and compaction, read back at attach.
#include "layer_file.hpp"

#include <nlohmann/json.hpp>

namespace gencontrol::node {

std::string encode_layer(const std::vector<Record>& records) {
    std::string out;
    for (const auto& r : records) {
        out += nlohmann::json{{"lsn", r.lsn}, {"key", r.key}, {"value", r.value}}.dump();
        out += '\n';
    }
    return out;
}

client::Result<std::vector<Record>> decode_layer(std::string_view bytes) {
    std::vector<Record> records;
    std::size_t start = 0;
    while (start < bytes.size()) {
        std::size_t end = bytes.find('\n', start);
        if (end == std::string_view::npos) end = bytes.size();
        auto line = nlohmann::json::parse(bytes.substr(start, end - start), nullptr, false);
        if (line.is_discarded() || !line.is_object() || !line.contains("lsn") ||
            !line["lsn"].is_number_unsigned() || !line.contains("key") || !line["key"].is_string() ||
            !line.contains("value") || !line["value"].is_string()) {
            return client::Status::corruption("layer line " + std::to_string(records.size() + 1) +
                                              " is not a record");
        }
        Record r{line["lsn"].get<client::Lsn>(), line["key"].get<std::string>(),
                 line["value"].get<std::string>()};
        if (!records.empty() && r.lsn < records.back().lsn)
            return client::Status::corruption("layer is not in LSN order");
        records.push_back(std::move(r));
        start = end + 1;
    }
    return records;
}

}  // namespace gencontrol::node

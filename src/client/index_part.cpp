// The index's JSON form (a subset of Neon's IndexPart, same field names) and the layer checksum
// it records. Decoding is strict about what it needs and ignores fields it does not know.
#include "gencontrol/index_part.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace gencontrol::client {

std::string encode_index_part(const IndexPart& index) {
    nlohmann::json layers = nlohmann::json::object();
    for (const auto& [name, m] : index.layer_metadata) {
        layers[name] = {{"file_size", m.file_size}, {"generation", m.generation}, {"checksum", m.checksum}};
    }
    nlohmann::json doc = {
        {"version", 1}, {"disk_consistent_lsn", index.disk_consistent_lsn}, {"layer_metadata", layers}};
    return doc.dump();
}

Result<IndexPart> decode_index_part(std::string_view json) {
    try {
        auto doc = nlohmann::json::parse(json);
        if (!doc.is_object() || !doc.contains("version") || !doc["version"].is_number_unsigned()) {
            return Status::corruption("index_part: no version");
        }
        IndexPart index;
        const auto& lsn = doc.at("disk_consistent_lsn");
        if (!lsn.is_number_unsigned())
            return Status::corruption("index_part: disk_consistent_lsn is not an LSN");
        index.disk_consistent_lsn = lsn.get<Lsn>();
        const auto& layers = doc.at("layer_metadata");
        if (!layers.is_object()) return Status::corruption("index_part: layer_metadata is not an object");
        for (const auto& [name, m] : layers.items()) {
            if (!m.is_object() || !m.at("file_size").is_number_unsigned() ||
                !m.at("generation").is_number_unsigned() || !m.at("checksum").is_string()) {
                return Status::corruption("index_part: malformed metadata for layer " + name);
            }
            auto generation = m["generation"].get<std::uint64_t>();
            if (generation > 0x7fffffff) return Status::corruption("index_part: generation out of range");
            index.layer_metadata[name] = {m["file_size"].get<std::uint64_t>(),
                                          static_cast<Generation>(generation),
                                          m["checksum"].get<std::string>()};
        }
        return index;
    } catch (const nlohmann::json::exception& e) {
        return Status::corruption(std::string("index_part: ") + e.what());
    }
}

std::string layer_checksum(std::string_view layer_bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(layer_bytes.data(), layer_bytes.size(), digest, &length, EVP_sha256(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 15];
    }
    return out;
}

}  // namespace gencontrol::client

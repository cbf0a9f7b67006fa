// What the client library's unit tests share: a fresh temporary directory per test, and a
// generation service that answers from a table the test controls (the real one is exercised by
// the integration tests in test/integration/client/).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "gencontrol/generation_client.hpp"

namespace gencontrol::client::test_support {

inline std::string fresh_directory(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() /
               ("gencontrol-client-unit-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
}

// Answers validate from `current` (shard -> its current generation); counts calls; can be made
// to fail a number of attempts, as an unreachable service would.
class TableGenerationService final : public GenerationClient {
public:
    explicit TableGenerationService(const StopSignal& stop) : GenerationClient(stop, 0.001) {}

    std::map<std::string, Generation> current;
    int validate_calls = 0;
    int failures_left = 0;

    Result<std::vector<ReAttachedShard>> re_attach_once(const NodeRegistration&) override {
        std::vector<ReAttachedShard> out;
        for (auto& [id, g] : current) out.push_back({id, ++g, "AttachedSingle", 2048});
        return out;
    }

    Result<std::vector<Validity>> validate_once(const std::vector<GenerationCheck>& checks) override {
        ++validate_calls;
        if (failures_left > 0) {
            --failures_left;
            return Status::unavailable("service down");
        }
        std::vector<Validity> out;
        for (const auto& c : checks) {
            auto it = current.find(c.tenant_shard_id);
            if (it != current.end()) out.push_back({c.tenant_shard_id, it->second == c.generation});
        }
        return out;
    }
};

}  // namespace gencontrol::client::test_support

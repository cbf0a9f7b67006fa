// Counts every validate the node sends, by outcome, for gencontrol_node_validations_total: a
// GenerationClient that forwards to the real one and looks at each answer.
#pragma once

#include <atomic>
#include <memory>

#include "gencontrol/generation_client.hpp"

namespace gencontrol::node {

class CountingGenerationClient final : public client::GenerationClient {
public:
    CountingGenerationClient(std::unique_ptr<client::GenerationClient> inner, const client::StopSignal& stop)
        : GenerationClient(stop, 1.0), inner_(std::move(inner)) {}

    client::Result<std::vector<client::ReAttachedShard>> re_attach_once(
        const client::NodeRegistration& node) override {
        return inner_->re_attach_once(node);
    }

    // Per shard checked: valid, or invalid (a stale generation, or a shard the service no longer
    // knows); per failed call: error.
    client::Result<std::vector<client::Validity>> validate_once(
        const std::vector<client::GenerationCheck>& checks) override {
        auto answer = inner_->validate_once(checks);
        if (!answer.is_ok()) {
            ++error;
            return answer;
        }
        std::uint64_t ok = 0;
        for (const auto& v : answer.value()) ok += v.valid ? 1 : 0;
        valid += ok;
        invalid += checks.size() - ok;
        return answer;
    }

    std::atomic<std::uint64_t> valid{0}, invalid{0}, error{0};

private:
    std::unique_ptr<client::GenerationClient> inner_;
};

}  // namespace gencontrol::node

// What both generation service clients share: the retry-forever wrappers around one attempt.
#include "gencontrol/generation_client.hpp"

namespace gencontrol::client {

Result<std::vector<ReAttachedShard>> GenerationClient::re_attach(const NodeRegistration& node) {
    std::vector<ReAttachedShard> shards;
    Status s = retry_forever(
        [&] {
            auto r = re_attach_once(node);
            if (r.is_ok()) shards = std::move(r).value();
            return r.status();
        },
        stop_, observer_, backoff_scale_);
    if (!s.is_ok()) return s;
    return shards;
}

Result<std::vector<Validity>> GenerationClient::validate(const std::vector<GenerationCheck>& checks) {
    std::vector<Validity> answer;
    Status s = retry_forever(
        [&] {
            auto r = validate_once(checks);
            if (r.is_ok()) answer = std::move(r).value();
            return r.status();
        },
        stop_, observer_, backoff_scale_);
    if (!s.is_ok()) return s;
    return answer;
}

}  // namespace gencontrol::client

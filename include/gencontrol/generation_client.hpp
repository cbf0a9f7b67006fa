// Talking to the generation service (gencontrol, or Neon's storage controller): re-attach at
// start, validate before deleting or publishing progress. Two transports, one contract.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gencontrol/retry.hpp"
#include "gencontrol/status.hpp"

namespace gencontrol::client {

// A generation number: 1 .. 2^31-1. 0 stands for "none": the behaviour before generations
// (unsuffixed keys), used only by control runs.
using Generation = std::uint32_t;
inline constexpr Generation kNoGeneration = 0;

// What a node tells the service about itself when it re-attaches (Neon's `register` body).
struct NodeRegistration {
    std::int64_t node_id = 0;
    std::string listen_http_addr;
    int listen_http_port = 0;
    std::string listen_pg_addr;
    int listen_pg_port = 0;
    std::string availability_zone_id;
};

// One tenant shard the service says this node holds. Secondary locations have no generation.
struct ReAttachedShard {
    std::string tenant_shard_id;  // Neon's text form, lower case
    std::optional<Generation> generation;
    std::string mode;  // "AttachedSingle" or "Secondary"
    std::int32_t stripe_size = 0;
};

struct GenerationCheck {
    std::string tenant_shard_id;
    Generation generation = kNoGeneration;
};

// The answer for one checked shard; shards the service does not know are absent from the answer.
struct Validity {
    std::string tenant_shard_id;
    bool valid = false;
};

// Every call here blocks. The *_once calls make one attempt and report any transport, server or
// answer failure as kUnavailable; the others retry those forever with Neon's backoff (as Neon's
// pageserver does, whatever the error) until `stop` (given at construction) is requested, and then
// answer kCancelled. Only a malformed argument, found before anything is sent, is kInvalidArgument.
class GenerationClient {
public:
    virtual ~GenerationClient() = default;

    // Registers the node and increments the generation of every shard attached to it.
    virtual Result<std::vector<ReAttachedShard>> re_attach_once(const NodeRegistration& node) = 0;
    // One answer per known shard, in request order. Sent in chunks of 128 as Neon does.
    virtual Result<std::vector<Validity>> validate_once(const std::vector<GenerationCheck>& checks) = 0;

    Result<std::vector<ReAttachedShard>> re_attach(const NodeRegistration& node);
    Result<std::vector<Validity>> validate(const std::vector<GenerationCheck>& checks);

    // Hears every failed attempt of the retrying calls (for logs and metrics). Set before use.
    void set_retry_observer(std::function<void(const Status&, unsigned attempt)> observer) {
        observer_ = std::move(observer);
    }

protected:
    explicit GenerationClient(const StopSignal& stop, double backoff_scale)
        : stop_(stop), backoff_scale_(backoff_scale) {}

private:
    const StopSignal& stop_;
    double backoff_scale_;
    std::function<void(const Status&, unsigned)> observer_;
};

struct HttpClientOptions {
    // The upcall API's base, e.g. "http://127.0.0.1:1234/upcall/v1/" (https:// works too).
    std::string base_url;
    std::string bearer_token;  // sent as "Authorization: Bearer ..." when not empty
    std::string ca_file;       // HTTPS: trust only the CA certificates in this PEM file; empty: the system's
    long timeout_ms = 10000;   // per request
    double backoff_scale = 1.0;
};

// Over the HTTP upcall API (POST {base}re-attach and {base}validate), with libcurl.
std::unique_ptr<GenerationClient> make_http_generation_client(HttpClientOptions options,
                                                              const StopSignal& stop);

// Over SQL with libpq: node_register, gen_re_attach and the batch gen_validate of the gencontrol
// extension. `conninfo` is any libpq conninfo (multi-host follows a failover). The connection is
// opened on first use and again after any failure.
std::unique_ptr<GenerationClient> make_sql_generation_client(std::string conninfo, const StopSignal& stop,
                                                             double backoff_scale = 1.0);

}  // namespace gencontrol::client

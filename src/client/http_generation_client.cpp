// The generation service client over Neon's HTTP upcall API (re-attach with register, validate
// in chunks of 128), with libcurl: bearer token, HTTP or HTTPS.
#include <curl/curl.h>

#include <mutex>

#include <nlohmann/json.hpp>

#include "gencontrol/generation_client.hpp"
#include "tenant_shard_id.hpp"

namespace gencontrol::client {
namespace {

constexpr std::size_t kValidateChunk = 128;        // what a Neon pageserver sends per request
constexpr std::size_t kMaxAnswerBytes = 64 << 20;  // a broken server cannot exhaust our memory

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* out) {
    auto* body = static_cast<std::string*>(out);
    if (body->size() + size * count > kMaxAnswerBytes) return 0;  // makes curl fail the transfer
    body->append(data, size * count);
    return size * count;
}

class HttpGenerationClient final : public GenerationClient {
public:
    HttpGenerationClient(HttpClientOptions options, const StopSignal& stop)
        : GenerationClient(stop, options.backoff_scale), options_(std::move(options)) {
        static std::once_flag curl_ready;
        std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
        if (!options_.base_url.empty() && options_.base_url.back() != '/') options_.base_url += '/';
    }

    Result<std::vector<ReAttachedShard>> re_attach_once(const NodeRegistration& node) override {
        nlohmann::json body = {{"node_id", node.node_id},
                               {"register",
                                {{"node_id", node.node_id},
                                 {"listen_pg_addr", node.listen_pg_addr},
                                 {"listen_pg_port", node.listen_pg_port},
                                 {"listen_http_addr", node.listen_http_addr},
                                 {"listen_http_port", node.listen_http_port},
                                 {"availability_zone_id", node.availability_zone_id},
                                 {"listen_https_port", nullptr},
                                 {"listen_grpc_addr", nullptr},
                                 {"listen_grpc_port", nullptr},
                                 {"node_ip_addr", nullptr}}}};
        auto answer = post("re-attach", body);
        if (!answer.is_ok()) return answer.status();
        std::vector<ReAttachedShard> shards;
        try {
            for (const auto& t : answer.value().at("tenants")) {
                ReAttachedShard shard;
                shard.tenant_shard_id = canonical(t.at("id").get<std::string>());
                if (t.contains("gen") && !t["gen"].is_null()) shard.generation = t["gen"].get<Generation>();
                shard.mode = t.value("mode", std::string("AttachedSingle"));
                if (t.contains("stripe_size") && t["stripe_size"].is_number())
                    shard.stripe_size = t["stripe_size"];
                shards.push_back(std::move(shard));
            }
        } catch (const std::exception& e) {
            return Status::unavailable(std::string("re-attach answer is malformed: ") + e.what());
        }
        return shards;
    }

    Result<std::vector<Validity>> validate_once(const std::vector<GenerationCheck>& checks) override {
        for (const auto& c : checks) {
            if (!parse_tenant_shard_id(c.tenant_shard_id).id) {
                return Status::invalid_argument("not a tenant shard id: " + c.tenant_shard_id.substr(0, 64));
            }
        }
        std::vector<Validity> out;
        for (std::size_t i = 0; i < checks.size(); i += kValidateChunk) {
            nlohmann::json tenants = nlohmann::json::array();
            for (std::size_t j = i; j < std::min(checks.size(), i + kValidateChunk); ++j) {
                tenants.push_back({{"id", checks[j].tenant_shard_id}, {"gen", checks[j].generation}});
            }
            auto answer = post("validate", {{"tenants", tenants}});
            if (!answer.is_ok()) return answer.status();
            try {
                for (const auto& t : answer.value().at("tenants")) {
                    out.push_back({canonical(t.at("id").get<std::string>()), t.at("valid").get<bool>()});
                }
            } catch (const std::exception& e) {
                return Status::unavailable(std::string("validate answer is malformed: ") + e.what());
            }
        }
        return out;
    }

private:
    static std::string canonical(const std::string& id) {
        auto parsed = parse_tenant_shard_id(id);
        if (!parsed.id) throw std::runtime_error("bad tenant shard id in answer");
        return parsed.id->to_string();
    }

    Result<nlohmann::json> post(const std::string& route, const nlohmann::json& body) {
        // Declared before the handle, so it outlives it: says which check failed (certificate...).
        char detail[CURL_ERROR_SIZE] = "";
        std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
        if (!curl) return Status::unavailable("curl_easy_init failed");
        std::string url = options_.base_url + route;
        std::string payload = body.dump();
        std::string answer;
        struct curl_slist* headers = nullptr;
        headers = curl_slist_append(headers, "Content-Type: application/json");
        std::string auth = "Authorization: Bearer " + options_.bearer_token;
        if (!options_.bearer_token.empty()) headers = curl_slist_append(headers, auth.c_str());
        std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, curl_slist_free_all);
        CURL* c = curl.get();
        curl_easy_setopt(c, CURLOPT_URL, url.c_str());
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, options_.timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, options_.timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // threads; timeouts must not use SIGALRM
        if (!options_.ca_file.empty()) {
            // The given CAs only: a private CA file is a choice of whom to trust, not an addition.
            curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
            curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
        }
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
        CURLcode rc = curl_easy_perform(c);
        if (rc != CURLE_OK) {
            return Status::unavailable("POST " + url + ": " + curl_easy_strerror(rc) +
                                       (detail[0] != '\0' ? std::string(" (") + detail + ")" : ""));
        }
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            return Status::unavailable("POST " + url + " answered " + std::to_string(status) + ": " +
                                       answer.substr(0, 200));
        }
        auto doc = nlohmann::json::parse(answer, nullptr, false);
        if (doc.is_discarded()) return Status::unavailable("POST " + url + " answered malformed JSON");
        return doc;
    }

    HttpClientOptions options_;
};

}  // namespace

std::unique_ptr<GenerationClient> make_http_generation_client(HttpClientOptions options,
                                                              const StopSignal& stop) {
    return std::make_unique<HttpGenerationClient>(std::move(options), stop);
}

}  // namespace gencontrol::client

// libFuzzer target over everything the shim parses from a client: the six JSON request bodies
// and the Authorization header. The first byte picks the parser; the rest is the input.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth.hpp"
#include "json.hpp"
#include "tenant_shard_id.hpp"

using namespace gencontrol::http;

namespace {

// One Ed25519 key, made once, so signature checks run on real key material.
const JwtVerifier& verifier() {
    static const JwtVerifier instance = [] {
        EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        BIO* bio = BIO_new(BIO_s_mem());
        PEM_write_bio_PUBKEY(bio, key);
        char* data = nullptr;
        long length = BIO_get_mem_data(bio, &data);
        std::string pem(data, static_cast<std::size_t>(length));
        BIO_free(bio);
        EVP_PKEY_free(key);
        std::string error;
        JwtVerifier v = JwtVerifier::from_pem({pem}, error);
        if (!error.empty()) std::abort();
        return v;
    }();
    return instance;
}

// What every accepted request must satisfy; a violation is a bug worth a crash report.
void check(bool condition) {
    if (!condition) std::abort();
}

void check_id(const gencontrol::TenantShardId& id) {
    auto again = gencontrol::parse_tenant_shard_id(id.to_string());
    check(again.id && *again.id == id);
}

template <class T>
void check_refusal(const Parsed<T>& parsed) {
    if (parsed.value) return;
    check(parsed.error.status == 400 || parsed.error.status == 413);
    check(!parsed.error.message.empty());
    (void)format_error(parsed.error.message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 7) {
        case 0: {
            auto parsed = parse_validate_request(input);
            check_refusal(parsed);
            // The streaming fast path must agree with the tree parser on every input.
            auto reference = parse_validate_request_without_fast_path(input);
            check(parsed.value.has_value() == reference.value.has_value());
            if (parsed.value) {
                check(parsed.value->tenants.size() == reference.value->tenants.size());
                for (std::size_t i = 0; i < parsed.value->tenants.size(); ++i) {
                    check(parsed.value->tenants[i].id == reference.value->tenants[i].id);
                    check(parsed.value->tenants[i].generation == reference.value->tenants[i].generation);
                }
            } else {
                check(parsed.error.status == reference.error.status &&
                      parsed.error.message == reference.error.message);
            }
            if (parsed.value) {
                std::vector<ValidateResult> results;
                for (const auto& e : parsed.value->tenants) {
                    check_id(e.id);
                    results.push_back({e.id.to_string(), e.generation % 2 == 0});
                }
                (void)format_validate_response(results);
            }
            break;
        }
        case 1: {
            auto parsed = parse_re_attach_request(input);
            check_refusal(parsed);
            if (parsed.value) {
                check(parsed.value->node_id > 0);
                if (const auto& r = parsed.value->registration) {
                    check(r->node_id == parsed.value->node_id);
                    check(r->listen_pg_port >= 0 && r->listen_pg_port <= 65535);
                    check(r->listen_http_port >= 0 && r->listen_http_port <= 65535);
                }
            }
            break;
        }
        case 2: {
            auto parsed = parse_attach_hook_request(input);
            check_refusal(parsed);
            if (parsed.value) {
                check_id(parsed.value->tenant);
                if (parsed.value->node_id) check(*parsed.value->node_id > 0);
                if (parsed.value->generation_override) check(*parsed.value->generation_override >= 1);
                (void)format_attach_hook_response(parsed.value->generation_override);
            }
            break;
        }
        case 3: {
            auto parsed = parse_inspect_request(input);
            check_refusal(parsed);
            if (parsed.value) check_id(parsed.value->tenant);
            break;
        }
        case 5: {
            auto parsed = parse_import_status_query(input);
            check_refusal(parsed);
            if (parsed.value) check(parsed.value->timeline.size() == 32);
            break;
        }
        case 6: {
            auto parsed = parse_import_status_update(input);
            check_refusal(parsed);
            if (parsed.value) check(!parsed.value->status.empty() && parsed.value->status != "null");
            break;
        }
        case 4: {
            auto decision = verifier().authorize(input, Access::generations_api, 1'700'000'000);
            // No input can be signed by a key made at random in this process.
            check(decision.status == 401);
            (void)base64url_decode(input);
            break;
        }
    }
    return 0;
}

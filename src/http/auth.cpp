// JWT verification for the shim: only alg EdDSA with an Ed25519 key configured here is accepted.
// `none`, HMAC (even keyed with our public key) and every other algorithm are refused before any
// crypto.
#include "auth.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace gencontrol::http {
namespace {

using nlohmann::json;

constexpr std::size_t kEd25519SignatureBytes = 64;

struct PkeyFree {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

bool starts_with_bearer(std::string_view header) {
    constexpr std::string_view kScheme = "bearer ";
    if (header.size() < kScheme.size()) return false;
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// A JWT segment decoded into a JSON object, or nothing.
std::optional<json> decode_object(std::string_view segment) {
    auto bytes = base64url_decode(segment);
    if (!bytes) return std::nullopt;
    json doc = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
    return doc;
}

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    out = buffer.str();
    return true;
}

Pkey load_ed25519_key(const std::string& pem, std::string& error) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  &BIO_free);
    Pkey key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) {
        error = "not a PEM public key";
        return nullptr;
    }
    if (EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519) {
        error = "not an Ed25519 key (only EdDSA tokens are accepted)";
        return nullptr;
    }
    return key;
}

}  // namespace

// Decoding is ours only because JWTs use the URL alphabet without padding; the bytes are checked
// strictly (no whitespace, no padding, no stray bits) so one token has exactly one spelling.
std::optional<std::string> base64url_decode(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        int v = base64url_value(c);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

struct JwtVerifier::Keys {
    std::vector<Pkey> keys;
};

JwtVerifier::JwtVerifier() : keys_(std::make_unique<Keys>()) {}
JwtVerifier::~JwtVerifier() = default;
JwtVerifier::JwtVerifier(JwtVerifier&&) noexcept = default;
JwtVerifier& JwtVerifier::operator=(JwtVerifier&&) noexcept = default;

JwtVerifier JwtVerifier::from_pem(const std::vector<std::string>& pems, std::string& error) {
    JwtVerifier verifier;
    for (std::size_t i = 0; i < pems.size(); ++i) {
        std::string why;
        Pkey key = load_ed25519_key(pems[i], why);
        if (!key) {
            error = "key " + std::to_string(i + 1) + ": " + why;
            return JwtVerifier();
        }
        verifier.keys_->keys.push_back(std::move(key));
    }
    return verifier;
}

JwtVerifier JwtVerifier::from_files(const std::vector<std::string>& paths, std::string& error) {
    namespace fs = std::filesystem;
    std::vector<std::string> files;
    for (const auto& path : paths) {
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<std::string> in_dir;
            for (const auto& entry : fs::directory_iterator(path, ec))
                if (entry.is_regular_file()) in_dir.push_back(entry.path().string());
            std::sort(in_dir.begin(), in_dir.end());
            if (in_dir.empty()) {
                error = path + ": directory holds no key files";
                return JwtVerifier();
            }
            files.insert(files.end(), in_dir.begin(), in_dir.end());
        } else {
            files.push_back(path);
        }
    }
    std::vector<std::string> pems;
    for (const auto& file : files) {
        std::string pem;
        if (!read_file(file, pem)) {
            error = file + ": cannot read";
            return JwtVerifier();
        }
        std::string why;
        if (!load_ed25519_key(pem, why)) {
            error = file + ": " + why;
            return JwtVerifier();
        }
        pems.push_back(std::move(pem));
    }
    return from_pem(pems, error);
}

bool JwtVerifier::enabled() const {
    return !keys_->keys.empty();
}
std::size_t JwtVerifier::key_count() const {
    return keys_->keys.size();
}

TokenCheck JwtVerifier::verify(std::string_view token, std::time_t now) const {
    auto first_dot = token.find('.');
    auto second_dot = first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != std::string_view::npos)
        return {std::nullopt, "malformed token: expected header.payload.signature"};
    std::string_view header_b64 = token.substr(0, first_dot);
    std::string_view payload_b64 = token.substr(first_dot + 1, second_dot - first_dot - 1);
    std::string_view signature_b64 = token.substr(second_dot + 1);

    auto header = decode_object(header_b64);
    if (!header) return {std::nullopt, "malformed token: unreadable header"};
    // The algorithm is fixed by the server, never chosen by the token: this is what stops
    // `none` and HMAC-with-the-public-key forgeries.
    auto alg = header->find("alg");
    if (alg == header->end() || !alg->is_string() || alg->get_ref<const std::string&>() != "EdDSA")
        return {std::nullopt, "token algorithm is not accepted: only EdDSA (Ed25519) is"};

    auto signature = base64url_decode(signature_b64);
    if (!signature || signature->size() != kEd25519SignatureBytes)
        return {std::nullopt, "malformed token: unreadable signature"};

    std::string_view signed_part = token.substr(0, second_dot);
    bool verified = false;
    for (const auto& key : keys_->keys) {
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
        if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) continue;
        if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                             signature->size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                             signed_part.size()) == 1) {
            verified = true;
            break;
        }
    }
    if (!verified) return {std::nullopt, "token signature does not verify with any configured key"};

    auto payload = decode_object(payload_b64);
    if (!payload) return {std::nullopt, "malformed token: unreadable claims"};
    if (auto exp = payload->find("exp"); exp != payload->end()) {
        if (!exp->is_number()) return {std::nullopt, "malformed token: exp is not a number"};
        if (static_cast<double>(now) >= exp->get<double>()) return {std::nullopt, "token has expired"};
    }
    if (auto nbf = payload->find("nbf"); nbf != payload->end()) {
        if (!nbf->is_number()) return {std::nullopt, "malformed token: nbf is not a number"};
        if (static_cast<double>(now) < nbf->get<double>())
            return {std::nullopt, "token is not valid yet (nbf)"};
    }
    TokenClaims claims;
    if (auto scope = payload->find("scope"); scope != payload->end() && !scope->is_null()) {
        if (!scope->is_string()) return {std::nullopt, "malformed token: scope is not a string"};
        claims.scope = scope->get<std::string>();
    }
    if (auto node = payload->find("node_id"); node != payload->end() && !node->is_null()) {
        if (!node->is_number_integer() || node->get<std::int64_t>() <= 0)
            return {std::nullopt, "malformed token: node_id is not a positive integer"};
        claims.node_id = node->get<std::int64_t>();
    }
    return {claims, {}};
}

AuthDecision JwtVerifier::authorize(std::string_view authorization_header, Access access,
                                    std::time_t now) const {
    if (access == Access::open || !enabled()) return {};
    std::string_view header = trim(authorization_header);
    if (header.empty()) return {401, "missing Authorization: Bearer token", std::nullopt};
    if (!starts_with_bearer(header)) return {401, "Authorization header must be: Bearer <token>", std::nullopt};
    std::string_view token = trim(header.substr(7));
    if (token.empty()) return {401, "missing Authorization: Bearer token", std::nullopt};

    TokenCheck check = verify(token, now);
    if (!check.claims) return {401, check.error, std::nullopt};
    const auto& scope = check.claims->scope;
    if (!scope) return {403, "token has no scope claim", std::nullopt};
    // As in Neon's storage controller, admin may call everything.
    if (*scope == "admin" || (access == Access::generations_api && *scope == "generations_api"))
        return {200, {}, check.claims};
    return {403, "token scope '" + *scope + "' is not allowed here (needs " +
                     (access == Access::admin ? "admin" : "generations_api or admin") + ")",
            std::nullopt};
}

KeyRing::KeyRing(std::vector<std::string> paths, JwtVerifier initial)
    : paths_(std::move(paths)), verifier_(std::make_shared<const JwtVerifier>(std::move(initial))) {}

std::string KeyRing::reload() {
    std::string error;
    JwtVerifier fresh = JwtVerifier::from_files(paths_, error);
    if (!error.empty()) return error;
    std::lock_guard lock(mutex_);
    verifier_ = std::make_shared<const JwtVerifier>(std::move(fresh));
    return {};
}

std::shared_ptr<const JwtVerifier> KeyRing::current() const {
    std::lock_guard lock(mutex_);
    return verifier_;
}

}  // namespace gencontrol::http

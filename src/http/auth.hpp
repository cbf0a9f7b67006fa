// Bearer-token authorization as Neon does it: Ed25519-signed JWTs whose `scope` claim grants a
// route. Verification is OpenSSL's; this file decides which tokens and scopes are accepted, and why
// not.
#pragma once

#include <cstdint>
#include <ctime>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gencontrol::http {

// What a route asks of a caller's token.
enum class Access {
    open,             // /status, /ready, /metrics
    generations_api,  // the upcalls a pageserver makes
    admin,            // the debug routes
};

// The claims gencontrol reads from a verified token.
struct TokenClaims {
    std::optional<std::string> scope;
    // (1.1) A token bound to one node: re-attach and register only for that node.
    std::optional<std::int64_t> node_id;
};

struct AuthDecision {
    int status = 200;  // 200 allowed, 401 no or unreadable token, 403 valid token with the wrong scope
    std::string message;
    std::optional<TokenClaims> claims;  // set when allowed by a token (empty with auth off or open routes)
};

struct TokenCheck {
    std::optional<TokenClaims> claims;  // empty when refused
    std::string error;                  // why, for a 401
};

class JwtVerifier {
public:
    // No keys: authorization is off and every route is open.
    JwtVerifier();
    ~JwtVerifier();
    JwtVerifier(JwtVerifier&&) noexcept;
    JwtVerifier& operator=(JwtVerifier&&) noexcept;

    // Each path is a PEM Ed25519 public key, or a directory whose every file is one (key rotation).
    // Returns an error sentence instead when any key cannot be read or is not Ed25519.
    static JwtVerifier from_files(const std::vector<std::string>& paths, std::string& error);
    static JwtVerifier from_pem(const std::vector<std::string>& pems, std::string& error);

    bool enabled() const;
    std::size_t key_count() const;

    // Checks signature (EdDSA only), exp and nbf; does not look at the scope.
    TokenCheck verify(std::string_view token, std::time_t now) const;

    // The whole decision for one request, from its Authorization header (empty when absent).
    AuthDecision authorize(std::string_view authorization_header, Access access, std::time_t now) const;

private:
    struct Keys;
    std::unique_ptr<Keys> keys_;
};

// The keys in force, re-read on SIGHUP: a reload that fails keeps the old keys.
class KeyRing {
public:
    KeyRing(std::vector<std::string> paths, JwtVerifier initial);
    // Re-reads every path; returns the error sentence (and keeps the old keys) on failure.
    std::string reload();
    std::shared_ptr<const JwtVerifier> current() const;

private:
    std::vector<std::string> paths_;
    mutable std::mutex mutex_;
    std::shared_ptr<const JwtVerifier> verifier_;
};

// RFC 4648 base64url without padding, as JWTs use it; empty on any character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace gencontrol::http

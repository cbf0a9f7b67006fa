// Bearer-token authorization as Neon does it: Ed25519-signed JWTs whose `scope` claim grants a
// route. Verification is OpenSSL's; this file decides which tokens and scopes are accepted, and why
// not.
#pragma once

#include <ctime>
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

struct AuthDecision {
    int status = 200;  // 200 allowed, 401 no or unreadable token, 403 valid token with the wrong scope
    std::string message;
};

// The claims gencontrol reads from a verified token.
struct TokenClaims {
    std::optional<std::string> scope;
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

// RFC 4648 base64url without padding, as JWTs use it; empty on any character outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace gencontrol::http

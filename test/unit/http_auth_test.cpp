// Unit tests for the shim's JWT checks (src/http/auth.cpp): keys are generated and tokens signed
// here with OpenSSL, then every refused case (none, HMAC, expired, tampered...) and accepted one.
#include "auth.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

using namespace gencontrol::http;

namespace {

using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

constexpr std::time_t kNow = 1'700'000'000;

Pkey generate(const char* type) {
    EVP_PKEY* key = nullptr;
    if (std::string(type) == "RSA")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
    else if (std::string(type) == "EC")
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    else
        key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
    return Pkey(key, &EVP_PKEY_free);
}

std::string public_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

std::string b64url(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return out;
}

std::string ed25519_sign(EVP_PKEY* key, std::string_view message) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key);
    std::string signature(64, '\0');
    std::size_t length = signature.size();
    EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(message.data()), message.size());
    signature.resize(length);
    return signature;
}

std::string hmac_sha256(std::string_view secret, std::string_view message) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
    return std::string(reinterpret_cast<char*>(out), length);
}

std::string token(EVP_PKEY* key, const nlohmann::json& claims,
                  const nlohmann::json& header = {{"alg", "EdDSA"}, {"typ", "JWT"}}) {
    std::string signing_input = b64url(header.dump()) + "." + b64url(claims.dump());
    return signing_input + "." + b64url(ed25519_sign(key, signing_input));
}

class JwtTest : public ::testing::Test {
protected:
    void SetUp() override {
        key = generate("ED25519");
        other_key = generate("ED25519");
        std::string error;
        verifier = JwtVerifier::from_pem({public_pem(key.get())}, error);
        ASSERT_EQ(error, "");
        ASSERT_TRUE(verifier.enabled());
    }

    AuthDecision upcall(const std::string& t) const {
        return verifier.authorize("Bearer " + t, Access::generations_api, kNow);
    }
    AuthDecision debug(const std::string& t) const {
        return verifier.authorize("Bearer " + t, Access::admin, kNow);
    }

    Pkey key{nullptr, &EVP_PKEY_free};
    Pkey other_key{nullptr, &EVP_PKEY_free};
    JwtVerifier verifier;
};

}  // namespace

TEST(JwtDisabled, WithoutKeysEveryRouteIsOpen) {
    JwtVerifier verifier;
    EXPECT_FALSE(verifier.enabled());
    EXPECT_EQ(verifier.authorize("", Access::admin, kNow).status, 200);
    EXPECT_EQ(verifier.authorize("Bearer garbage", Access::generations_api, kNow).status, 200);
}

TEST_F(JwtTest, GenerationsApiScopeOpensUpcallsOnly) {
    std::string t = token(key.get(), {{"scope", "generations_api"}});
    EXPECT_EQ(upcall(t).status, 200);
    auto d = debug(t);
    EXPECT_EQ(d.status, 403);
    EXPECT_NE(d.message.find("generations_api"), std::string::npos);
}

TEST_F(JwtTest, AdminScopeOpensEveryRoute) {
    std::string t = token(key.get(), {{"scope", "admin"}});
    EXPECT_EQ(upcall(t).status, 200);
    EXPECT_EQ(debug(t).status, 200);
}

TEST_F(JwtTest, OtherOrMissingScopesAreForbidden) {
    for (const char* scope : {"tenant", "pageserverapi", "safekeeperdata", "Admin", ""}) {
        std::string t = token(key.get(), {{"scope", scope}});
        EXPECT_EQ(upcall(t).status, 403) << scope;
        EXPECT_EQ(debug(t).status, 403) << scope;
    }
    EXPECT_EQ(upcall(token(key.get(), nlohmann::json::object())).status, 403);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", nullptr}})).status, 403);
}

TEST_F(JwtTest, OpenRoutesNeedNoToken) {
    EXPECT_EQ(verifier.authorize("", Access::open, kNow).status, 200);
    EXPECT_EQ(verifier.authorize("Bearer nonsense", Access::open, kNow).status, 200);
}

TEST_F(JwtTest, MissingOrNonBearerHeaderIsUnauthorized) {
    std::string t = token(key.get(), {{"scope", "admin"}});
    EXPECT_EQ(verifier.authorize("", Access::generations_api, kNow).status, 401);
    EXPECT_EQ(verifier.authorize("Bearer", Access::generations_api, kNow).status, 401);
    EXPECT_EQ(verifier.authorize("Bearer   ", Access::generations_api, kNow).status, 401);
    EXPECT_EQ(verifier.authorize("Basic " + t, Access::generations_api, kNow).status, 401);
    EXPECT_EQ(verifier.authorize(t, Access::generations_api, kNow).status, 401);
    // The scheme is case-insensitive (RFC 7235).
    EXPECT_EQ(verifier.authorize("bearer " + t, Access::generations_api, kNow).status, 200);
}

TEST_F(JwtTest, AlgNoneIsRefused) {
    std::string unsigned_token =
        b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(R"({"scope":"admin"})") + ".";
    EXPECT_EQ(upcall(unsigned_token).status, 401);
    // Even with a valid Ed25519 signature attached, the token's own alg is not trusted.
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}}, {{"alg", "none"}})).status, 401);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}}, {{"alg", "None"}})).status, 401);
}

TEST_F(JwtTest, HmacTokensAreRefusedEvenWhenKeyedWithThePublicKey) {
    std::string pem = public_pem(key.get());
    for (const char* alg : {"HS256", "HS384", "HS512"}) {
        std::string input = b64url(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})") + "." +
                            b64url(R"({"scope":"admin"})");
        EXPECT_EQ(upcall(input + "." + b64url(hmac_sha256(pem, input))).status, 401) << alg;
        // The raw 32 public key bytes as the secret, too.
        unsigned char raw[32];
        std::size_t raw_length = sizeof raw;
        EVP_PKEY_get_raw_public_key(key.get(), raw, &raw_length);
        std::string secret(reinterpret_cast<char*>(raw), raw_length);
        EXPECT_EQ(upcall(input + "." + b64url(hmac_sha256(secret, input))).status, 401) << alg;
    }
}

TEST_F(JwtTest, OtherAlgorithmsAreRefused) {
    for (const char* alg : {"RS256", "ES256", "PS256", "eddsa", "Ed25519", ""})
        EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}}, {{"alg", alg}})).status, 401) << alg;
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}}, {{"typ", "JWT"}})).status, 401);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}}, {{"alg", 1}})).status, 401);
}

TEST_F(JwtTest, AnUnknownKeyIsRefused) {
    EXPECT_EQ(upcall(token(other_key.get(), {{"scope", "admin"}})).status, 401);
}

TEST_F(JwtTest, TamperedClaimsAreRefused) {
    std::string t = token(key.get(), {{"scope", "generations_api"}});
    auto first = t.find('.');
    auto second = t.find('.', first + 1);
    std::string forged = t.substr(0, first + 1) + b64url(R"({"scope":"admin"})") + t.substr(second);
    EXPECT_EQ(debug(forged).status, 401);
    // A flipped signature bit.
    std::string flipped = t;
    flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(upcall(flipped).status, 401);
}

TEST_F(JwtTest, ExpiryIsEnforced) {
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"exp", kNow - 10}})).status, 401);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"exp", kNow}})).status, 401);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"exp", kNow + 60}})).status, 200);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"exp", static_cast<double>(kNow) + 0.5}})).status,
              200);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"exp", "never"}})).status, 401);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"exp", nullptr}})).status, 401);
    auto d = upcall(token(key.get(), {{"scope", "admin"}, {"exp", kNow - 10}}));
    EXPECT_NE(d.message.find("expired"), std::string::npos) << d.message;
}

TEST_F(JwtTest, NotBeforeIsEnforced) {
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"nbf", kNow + 60}})).status, 401);
    EXPECT_EQ(upcall(token(key.get(), {{"scope", "admin"}, {"nbf", kNow - 60}})).status, 200);
}

TEST_F(JwtTest, MalformedTokensAreUnauthorized) {
    std::string good = token(key.get(), {{"scope", "admin"}});
    auto first = good.find('.');
    auto second = good.find('.', first + 1);
    std::string header = good.substr(0, first);
    std::string payload = good.substr(first + 1, second - first - 1);
    std::string signature = good.substr(second + 1);
    for (const std::string& t :
         {std::string("abc"), std::string("a.b"), good + ".x", std::string(".."), header + "." + payload,
          header + "." + payload + ".",
          header + "." + payload + "." + signature.substr(4),  // short signature
          header + "=." + payload + "." + signature,           // padding
          header + "." + payload + "." + signature + "==", "!" + header + "." + payload + "." + signature,
          b64url("not json") + "." + payload + "." + signature,
          b64url("[1,2]") + "." + payload + "." + signature}) {
        EXPECT_EQ(upcall(t).status, 401) << t;
    }
    // Properly signed but the claims are not a JSON object.
    for (const char* claims : {"not json", "[1]", "\"admin\""}) {
        std::string input = b64url(R"({"alg":"EdDSA"})") + "." + b64url(claims);
        EXPECT_EQ(upcall(input + "." + b64url(ed25519_sign(key.get(), input))).status, 401) << claims;
    }
    EXPECT_EQ(upcall(token(key.get(), {{"scope", 7}})).status, 401);
}

TEST(JwtKeys, SeveralKeysAreAcceptedForRotation) {
    Pkey old_key = generate("ED25519");
    Pkey new_key = generate("ED25519");
    std::string error;
    JwtVerifier verifier =
        JwtVerifier::from_pem({public_pem(old_key.get()), public_pem(new_key.get())}, error);
    ASSERT_EQ(error, "");
    EXPECT_EQ(verifier.key_count(), 2u);
    for (EVP_PKEY* k : {old_key.get(), new_key.get()})
        EXPECT_EQ(verifier
                      .authorize("Bearer " + token(k, {{"scope", "generations_api"}}),
                                 Access::generations_api, kNow)
                      .status,
                  200);
}

TEST(JwtKeys, OnlyEd25519PublicKeysLoad) {
    for (const char* type : {"RSA", "EC", "X25519", "ED448"}) {
        Pkey key = generate(type);
        ASSERT_TRUE(key) << type;
        std::string error;
        JwtVerifier verifier = JwtVerifier::from_pem({public_pem(key.get())}, error);
        EXPECT_NE(error.find("not an Ed25519 key"), std::string::npos) << type << ": " << error;
        EXPECT_FALSE(verifier.enabled());
    }
    std::string error;
    JwtVerifier::from_pem({"-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n"}, error);
    EXPECT_NE(error.find("not a PEM public key"), std::string::npos) << error;
}

TEST(JwtKeys, LoadsFilesAndDirectories) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("gencontrol-jwt-test-" + std::to_string(::getpid()));
    fs::create_directories(dir / "keys");
    Pkey a = generate("ED25519");
    Pkey b = generate("ED25519");
    std::ofstream(dir / "keys" / "a.pem") << public_pem(a.get());
    std::ofstream(dir / "keys" / "b.pem") << public_pem(b.get());
    std::ofstream(dir / "single.pem") << public_pem(a.get());
    std::ofstream(dir / "bad.pem") << "not a key";

    std::string error;
    EXPECT_EQ(JwtVerifier::from_files({(dir / "keys").string()}, error).key_count(), 2u);
    EXPECT_EQ(error, "");
    EXPECT_EQ(
        JwtVerifier::from_files({(dir / "single.pem").string(), (dir / "keys").string()}, error).key_count(),
        3u);
    EXPECT_EQ(error, "");
    JwtVerifier::from_files({(dir / "bad.pem").string()}, error);
    EXPECT_NE(error.find("bad.pem"), std::string::npos) << error;
    error.clear();
    JwtVerifier::from_files({(dir / "missing.pem").string()}, error);
    EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
    fs::remove_all(dir);
}

TEST(Base64Url, DecodesStrictly) {
    EXPECT_EQ(base64url_decode(""), "");
    EXPECT_EQ(base64url_decode("YQ"), "a");
    EXPECT_EQ(base64url_decode("YWI"), "ab");
    EXPECT_EQ(base64url_decode("YWJj"), "abc");
    EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
    EXPECT_FALSE(base64url_decode("YQ=="));  // padding
    EXPECT_FALSE(base64url_decode("Y"));     // impossible length
    EXPECT_FALSE(base64url_decode("YR"));    // stray bits: a second spelling of "a"
    EXPECT_FALSE(base64url_decode("+/8"));   // the standard alphabet
    EXPECT_FALSE(base64url_decode("YW J"));
}

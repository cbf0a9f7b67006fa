"""gencontrol-http with JWT auth on: keys made with `openssl genpkey -algorithm ed25519`, tokens
signed here; scopes, expiry, alg none, HMAC with the public key, unknown keys, key rotation.

PostgreSQL on 15452; shims on 15471 (two keys) and 15472 (a bad key file, which must not start).
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import ClusterTestCase, DATABASE
from shimproc import BINARY, TENANT, Ed25519Key, Shim, hmac_token, none_token

VALIDATE = ("/upcall/v1/validate", {"tenants": [{"id": TENANT, "gen": 1}]})
RE_ATTACH = ("/upcall/v1/re-attach", {"node_id": 1, "register": {
    "node_id": 1, "listen_pg_addr": "ps1", "listen_pg_port": 6400, "listen_http_addr": "ps1",
    "listen_http_port": 9898, "availability_zone_id": "az"}})
ATTACH_HOOK = ("/debug/v1/attach-hook", {"tenant_shard_id": TENANT, "node_id": 1})
INSPECT = ("/debug/v1/inspect", {"tenant_shard_id": TENANT})


class ShimAuthTest(ClusterTestCase):
    PORT = 15452
    SHIM_PORT = 15471

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.keydir = tempfile.mkdtemp(prefix="gencontrol-keys-")
        cls.addClassCleanup(shutil.rmtree, cls.keydir, True)
        cls.old_key = Ed25519Key(cls.keydir, "old")
        cls.new_key = Ed25519Key(cls.keydir, "new")
        cls.stranger = Ed25519Key(cls.keydir, "stranger")
        cls.shim = Shim("auth", cls.SHIM_PORT, cls.cluster.conninfo(DATABASE),
                        keys=[cls.old_key.public, cls.new_key.public])
        cls.addClassCleanup(cls.shim.stop)
        cls.shim.start()
        admin = cls.new_key.token({"scope": "admin"})
        assert cls.shim.post(*RE_ATTACH, token=admin).status == 200

    def call(self, route, token):
        path, body = route
        return self.shim.post(path, body, token=token)

    def assertStatus(self, route, token, status):
        response = self.call(route, token)
        self.assertEqual(response.status, status, f"{route[0]}: {response}")
        if status >= 400:
            self.assertIn("msg", response.json())
        if status == 401:
            self.assertEqual(response.header("www-authenticate"), "Bearer")
        return response

    def test_auth_on_is_logged_with_the_key_count(self):
        self.assertRegex(self.shim.log(), r"listening .*auth=on keys=2")
        self.assertNotIn("authorization is OFF", self.shim.log())

    def test_generations_api_scope_opens_the_upcalls_only(self):
        token = self.old_key.token({"scope": "generations_api"})
        self.assertStatus(VALIDATE, token, 200)
        self.assertStatus(RE_ATTACH, token, 200)
        self.assertStatus(ATTACH_HOOK, token, 403)
        self.assertStatus(INSPECT, token, 403)

    def test_admin_scope_opens_every_route(self):
        token = self.old_key.token({"scope": "admin"})
        for route in (VALIDATE, RE_ATTACH, ATTACH_HOOK, INSPECT):
            self.assertStatus(route, token, 200)

    def test_both_configured_keys_are_accepted(self):
        for key in (self.old_key, self.new_key):
            self.assertStatus(VALIDATE, key.token({"scope": "generations_api"}), 200)

    def test_other_scopes_are_forbidden(self):
        for claims in ({"scope": "tenant"}, {"scope": "pageserverapi"}, {}, {"scope": "ADMIN"}):
            with self.subTest(claims=claims):
                self.assertStatus(VALIDATE, self.new_key.token(claims), 403)
                self.assertStatus(ATTACH_HOOK, self.new_key.token(claims), 403)

    def test_missing_and_unreadable_tokens_are_unauthorized(self):
        self.assertStatus(VALIDATE, None, 401)
        self.assertStatus(VALIDATE, "not-a-jwt", 401)
        self.assertStatus(VALIDATE, "a.b.c", 401)
        response = self.shim.post(VALIDATE[0], VALIDATE[1], headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
        self.assertEqual(response.status, 401)

    def test_expired_tokens_are_unauthorized(self):
        self.assertStatus(VALIDATE, self.new_key.token({"scope": "admin", "exp": int(time.time()) - 30}), 401)
        self.assertStatus(VALIDATE, self.new_key.token({"scope": "admin", "exp": int(time.time()) + 300}), 200)

    def test_alg_none_is_unauthorized(self):
        self.assertStatus(VALIDATE, none_token({"scope": "admin"}), 401)
        self.assertStatus(ATTACH_HOOK, none_token({"scope": "admin"}), 401)

    def test_hmac_signed_with_the_public_key_is_unauthorized(self):
        for alg in ("HS256", "HS384", "HS512"):
            with self.subTest(alg=alg):
                token = hmac_token(self.new_key.public_pem(), {"scope": "admin"}, alg)
                self.assertStatus(ATTACH_HOOK, token, 401)

    def test_a_token_signed_by_an_unknown_key_is_unauthorized(self):
        self.assertStatus(VALIDATE, self.stranger.token({"scope": "admin"}), 401)

    def test_a_token_naming_another_algorithm_is_unauthorized(self):
        token = self.new_key.token({"scope": "admin"}, header={"alg": "RS256", "typ": "JWT"})
        self.assertStatus(VALIDATE, token, 401)

    def test_health_routes_need_no_token(self):
        for path in ("/status", "/ready", "/metrics"):
            self.assertEqual(self.shim.request("GET", path).status, 200, path)

    def test_route_errors_come_before_auth(self):
        self.assertEqual(self.shim.request("GET", "/nowhere").status, 404)
        self.assertEqual(self.shim.request("GET", VALIDATE[0]).status, 405)

    def test_a_bad_key_file_stops_the_start(self):
        bad = os.path.join(self.keydir, "bad.pem")
        with open(bad, "w") as f:
            f.write("not a key\n")
        for keys in ([bad], [self.old_key.private.replace(".key", ".missing")]):
            result = subprocess.run([BINARY, "--listen", "127.0.0.1:15472", "--jwt-public-key", *keys],
                                    capture_output=True, text=True, timeout=10)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("cannot load --jwt-public-key", result.stderr)


if __name__ == "__main__":
    unittest.main()

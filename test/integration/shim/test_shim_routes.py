"""gencontrol-http against a real PostgreSQL, auth off: every route, every error status, the
10,000-entry validate, re-attach with and without register, and docs/http-api.yaml vs the server.

PostgreSQL on 15450; shims on 15470 (main), 15478 (JSON logs), 15479 (a role without grants).
"""
import http.client
import json
import os
import socket
import time
import unittest

import yaml

from harness import ClusterTestCase, DATABASE
from shimproc import ROOT, Shim, TENANT, tenant

NODE = 1
REGISTER = {"node_id": NODE, "listen_pg_addr": "ps1.local", "listen_pg_port": 6400,
            "listen_http_addr": "ps1.local", "listen_http_port": 9898, "availability_zone_id": "az-1"}


class ShimRoutesTest(ClusterTestCase):
    PORT = 15450
    SHIM_PORT = 15470

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = Shim("routes", cls.SHIM_PORT, cls.cluster.conninfo(DATABASE),
                        args=["--max-body-bytes", "2000000"])
        cls.addClassCleanup(cls.shim.stop)
        cls.shim.start()
        # Node 1 registers through the shim, as a pageserver does on first start.
        response = cls.shim.post("/upcall/v1/re-attach", {"node_id": NODE, "register": REGISTER})
        assert response.status == 200, response

    def sql(self, query, *args):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None

    def attach(self, tenant_id, node=NODE, **extra):
        response = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": tenant_id, "node_id": node, **extra})
        self.assertEqual(response.status, 200, response)
        return response.json()["gen"]

    def assertError(self, response, status, msg_pattern=None):
        self.assertEqual(response.status, status, response)
        self.assertTrue(response.header("content-type").startswith("application/json"), response.headers)
        msg = response.json()["msg"]
        if msg_pattern:
            self.assertRegex(msg, msg_pattern)
        return msg

    # --- health -------------------------------------------------------------------------
    def test_status_ready_and_head(self):
        self.assertEqual(self.shim.request("GET", "/status").status, 200)
        self.assertEqual(self.shim.request("HEAD", "/status").status, 200)
        ready = self.shim.request("GET", "/ready")
        self.assertEqual(ready.status, 200, ready)
        self.assertEqual(ready.json(), {"status": "ready"})

    def test_metrics_count_requests_latency_and_pool(self):
        self.shim.request("GET", "/status")
        self.shim.post("/upcall/v1/validate", {"tenants": []})
        self.shim.request("GET", "/nowhere")
        response = self.shim.request("GET", "/metrics")
        self.assertEqual(response.status, 200)
        self.assertTrue(response.header("content-type").startswith("text/plain"))
        text = response.body.decode()
        self.assertRegex(text, r'gencontrol_http_requests_total\{route="/status",method="GET",status="200"\} \d+')
        self.assertRegex(text, r'gencontrol_http_requests_total\{route="unmatched",method="GET",status="404"\} \d+')
        self.assertRegex(text, r'gencontrol_http_request_duration_seconds_bucket\{route="/upcall/v1/validate",'
                               r'status="200",le="\+Inf"\} \d+')
        self.assertIn("gencontrol_db_pool_size 8\n", text)
        self.assertRegex(text, r"gencontrol_db_pool_in_use \d+\n")
        self.assertRegex(text, r"gencontrol_db_pool_connected [1-8]\n")
        self.assertIn("# TYPE gencontrol_db_errors_total counter", text)
        self.assertRegex(text, r"gencontrol_db_reconnects_total \d+\n")

    def test_auth_off_is_logged_at_start(self):
        self.assertIn("authorization is OFF", self.shim.log())

    # --- re-attach ------------------------------------------------------------------------
    def test_re_attach_of_an_unknown_node_without_register_holds_nothing(self):
        # (1.1) As Neon's controller: 200 with no tenants, so the pageserver can start; a warning
        # is logged and nothing is registered.
        response = self.shim.post("/upcall/v1/re-attach", {"node_id": 4242})
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"tenants": []})
        self.assertEqual(self.sql("SELECT count(*) FROM gencontrol.nodes WHERE node_id = 4242"), [(0,)])
        self.assertRegex(self.shim.log(), r"not registered.*node_id=4242")

    def test_re_attach_with_register_registers_the_node(self):
        register = dict(REGISTER, node_id=77, listen_http_port=9977, availability_zone_id=None,
                        listen_https_port=None, node_ip_addr="10.0.0.77", something_new={"x": 1})
        response = self.shim.post("/upcall/v1/re-attach",
                                  {"node_id": 77, "register": register, "empty_local_disk": True})
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"tenants": []})
        rows = self.sql("SELECT listen_http_port FROM gencontrol.nodes WHERE node_id = 77")
        self.assertEqual(rows, [(9977,)])
        # Registered now: without register it is known.
        self.assertEqual(self.shim.post("/upcall/v1/re-attach", {"node_id": 77}).status, 200)

    def test_re_attach_bumps_attached_shards_and_lists_secondaries(self):
        self.shim.post("/upcall/v1/re-attach", {"node_id": 2, "register": dict(REGISTER, node_id=2)})
        attached = tenant(0x2001)
        sharded = tenant(0x2002, (1, 2))
        secondary = tenant(0x2003)
        gen_attached = self.attach(attached, node=2)
        gen_sharded = self.attach(sharded, node=2)
        self.attach(secondary, node=NODE)
        self.sql("SELECT gencontrol.tenant_set_secondaries(%s::gencontrol.tenant_shard_id, ARRAY[2]::bigint[])",
                 secondary)

        response = self.shim.post("/upcall/v1/re-attach", {"node_id": 2})
        self.assertEqual(response.status, 200, response)
        by_id = {t["id"]: t for t in response.json()["tenants"]}
        self.assertEqual(by_id[attached], {"id": attached, "gen": gen_attached + 1, "mode": "AttachedSingle",
                                           "stripe_size": 2048})
        self.assertEqual(by_id[sharded]["gen"], gen_sharded + 1)
        self.assertEqual(by_id[secondary], {"id": secondary, "gen": None, "mode": "Secondary", "stripe_size": 2048})
        self.assertEqual(len(by_id), 3)
        # Field order as Neon writes it.
        self.assertTrue(response.body.decode().startswith('{"tenants":[{"id":'), response.body)

    # --- attach-hook and inspect -------------------------------------------------------------
    def test_attach_hook_attaches_overrides_and_detaches(self):
        t = tenant(0x3001)
        first = self.attach(t)
        self.assertEqual(self.attach(t), first + 1)
        self.assertEqual(self.attach(t, generation_override=first + 50), first + 50)
        # An override below the current generation never lowers it.
        self.assertEqual(self.attach(t, generation_override=1), first + 51)
        self.assertEqual(self.shim.post("/debug/v1/inspect", {"tenant_shard_id": t}).json(),
                         {"attachment": [first + 51, NODE]})
        response = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": None})
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"gen": None})
        self.assertEqual(self.shim.post("/debug/v1/inspect", {"tenant_shard_id": t}).json(), {"attachment": None})
        # The generation survives the detach: a re-attach continues from it.
        self.assertEqual(self.attach(t), first + 52)

    def test_attach_hook_errors(self):
        t = tenant(0x3002)
        self.assertError(self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 999}), 404,
                         "not registered")
        self.assertError(self.shim.post("/debug/v1/attach-hook",
                                        {"tenant_shard_id": t, "node_id": NODE, "generation_override": 2 ** 31}),
                         400, "^generation_override: ")
        self.assertError(self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t}), 400, "^node_id: missing")
        self.assertError(self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": "nope", "node_id": 1}), 400,
                         "^tenant_shard_id: invalid tenant shard id")

    def test_a_deleted_node_is_409(self):
        self.shim.post("/upcall/v1/re-attach", {"node_id": 66, "register": dict(REGISTER, node_id=66)})
        self.sql("SELECT gencontrol.node_delete(66)")
        self.assertError(self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": tenant(0x3003), "node_id": 66}),
                         409, "deleted")
        self.assertError(self.shim.post("/upcall/v1/re-attach", {"node_id": 66}), 409, "deleted")

    def test_inspect_unknown_tenant_has_no_attachment(self):
        response = self.shim.post("/debug/v1/inspect", {"tenant_shard_id": tenant(0x3fff)})
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"attachment": None})

    # --- validate -------------------------------------------------------------------------------
    def test_validate_answers_in_order_and_omits_unknown(self):
        a, b = tenant(0x4001), tenant(0x4002, (0, 4))
        gen_a = self.attach(a)
        gen_b = self.attach(b)
        self.attach(b)  # b's gen_b is now stale
        request_body = {"tenants": [
            {"id": b, "gen": gen_b},
            {"id": tenant(0x4fff), "gen": 1},          # unknown: omitted
            {"id": a.upper(), "gen": gen_a},           # upper case in, lower case out
            {"id": a, "gen": gen_a + 1},               # a generation not issued yet
            {"id": a, "gen": 0},                       # never issued
            {"id": a, "gen": 2 ** 32 - 1},             # u32 on the wire, never issued
            {"id": b, "gen": gen_b + 1, "extra": "ignored"},
        ], "also": "ignored"}
        response = self.shim.post("/upcall/v1/validate", request_body)
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"tenants": [
            {"id": b, "valid": False},
            {"id": a, "valid": True},
            {"id": a, "valid": False},
            {"id": a, "valid": False},
            {"id": a, "valid": False},
            {"id": b, "valid": True},
        ]})

    def test_validate_ten_thousand_entries_in_one_request(self):
        ids = [tenant(0x100000 + i) for i in range(10000)]
        with self.connect() as conn, conn.cursor() as cur:
            # Attached with SQL in one statement: the shim is what is under test, not 10,000 attaches.
            cur.execute("SELECT gencontrol.gen_attach(t::gencontrol.tenant_shard_id, %s) FROM unnest(%s::text[]) t",
                        (NODE, ids[::2]))
        entries = [{"id": t, "gen": 1 if i % 4 == 0 else 2} for i, t in enumerate(ids)]
        started = time.monotonic()
        response = self.shim.post("/upcall/v1/validate", {"tenants": entries})
        elapsed = time.monotonic() - started
        self.assertEqual(response.status, 200, response)
        answer = response.json()["tenants"]
        # Only the attached half is known; of those, the ones asked with gen 1 are valid.
        self.assertEqual(len(answer), 5000)
        self.assertEqual([e["id"] for e in answer], ids[::2])
        self.assertEqual([e["valid"] for e in answer], [i % 4 == 0 for i in range(0, 10000, 2)])
        print(f"\n    10,000-entry validate: {elapsed * 1000:.0f} ms", end=" ")

    def test_validate_errors_name_the_field(self):
        cases = [
            ({"tenants": [{"id": TENANT, "gen": -1}]}, r"^tenants\[0\]\.gen: "),
            ({"tenants": [{"id": TENANT, "gen": 2 ** 32}]}, r"^tenants\[0\]\.gen: "),
            ({"tenants": [{"id": TENANT, "gen": 1.5}]}, r"^tenants\[0\]\.gen: "),
            ({"tenants": [{"id": TENANT, "gen": "1"}]}, r"^tenants\[0\]\.gen: "),
            ({"tenants": [{"id": TENANT, "gen": 1}, {"id": TENANT}]}, r"^tenants\[1\]\.gen: missing"),
            ({"tenants": [{"id": TENANT + "-0000", "gen": 1}]}, r"^tenants\[0\]\.id: invalid tenant shard id"),
            ({"tenants": [{"id": 7, "gen": 1}]}, r"^tenants\[0\]\.id: "),
            ({"tenants": {}}, r"^tenants: expected an array"),
            ({}, r"^tenants: missing"),
        ]
        for body, pattern in cases:
            with self.subTest(body=body):
                self.assertError(self.shim.post("/upcall/v1/validate", body), 400, pattern)
        self.assertError(self.shim.post("/upcall/v1/validate", raw=b'{"tenants": ['), 400, "^malformed JSON")
        self.assertError(self.shim.post("/upcall/v1/validate", raw=b"[]"), 400, "JSON object")

    # --- HTTP-level errors ------------------------------------------------------------------
    def test_unknown_route_is_404_and_wrong_method_405(self):
        self.assertError(self.shim.request("GET", "/upcall/v1/nothing"), 404)
        self.assertError(self.shim.post("/status/extra", {}), 404)
        for method, path, allow in [("GET", "/upcall/v1/validate", "POST"), ("PUT", "/upcall/v1/re-attach", "POST"),
                                    ("DELETE", "/debug/v1/inspect", "POST"), ("POST", "/metrics", "GET"),
                                    ("TRACE", "/ready", "GET")]:
            with self.subTest(method=method, path=path):
                response = self.shim.request(method, path)
                self.assertError(response, 405)
                self.assertEqual(response.header("allow"), allow)

    def test_body_too_large_is_413(self):
        big = b'{"tenants": [' + b" " * 2_100_000 + b"]}"
        self.assertError(self.shim.post("/upcall/v1/validate", raw=big), 413, "larger than 2000000")
        # Chunked, so no Content-Length tells the server in advance.
        conn = http.client.HTTPConnection("127.0.0.1", self.SHIM_PORT, timeout=30)
        try:
            chunks = (b" " * 100_000 for _ in range(25))
            conn.request("POST", "/upcall/v1/validate", body=chunks, encode_chunked=True,
                         headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
            response = conn.getresponse()
            self.assertEqual(response.status, 413)
            response.read()
        finally:
            conn.close()
        # The server is still fine.
        self.assertEqual(self.shim.post("/upcall/v1/validate", {"tenants": []}).status, 200)

    def test_malformed_http_is_400(self):
        with socket.create_connection(("127.0.0.1", self.SHIM_PORT), timeout=10) as sock:
            sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            reply = sock.recv(4096)
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)

    # --- docs/http-api.yaml -----------------------------------------------------------------
    def test_every_documented_route_exists(self):
        with open(os.path.join(ROOT, "docs", "http-api.yaml")) as f:
            spec = yaml.safe_load(f)
        self.assertTrue(spec["openapi"].startswith("3."))
        documented = [(method.upper(), path) for path, item in spec["paths"].items()
                      for method in item if method in ("get", "post", "put", "patch", "delete")]
        self.assertEqual(len(documented), 10, documented)
        for method, path in documented:
            with self.subTest(method=method, path=path):
                response = self.shim.request(method, path, body={} if method == "POST" else None)
                self.assertNotIn(response.status, (404, 405), response)


class ShimLogAndPrivilegeTest(ClusterTestCase):
    """JSON log lines, and a 500 that is logged with detail but answered without it."""
    PORT = 15451

    def test_json_log_lines(self):
        shim = Shim("json-log", 15478, self.cluster.conninfo(DATABASE), args=["--log-format", "json"])
        self.addCleanup(shim.stop)
        shim.start()
        shim.request("GET", "/status")
        shim.request("GET", "/missing")
        self.assertEqual(shim.stop(), 0)
        lines = [json.loads(line) for line in shim.log().splitlines() if line.strip()]
        requests = [line for line in lines if line["msg"] == "request"]
        self.assertTrue(any(r["path"] == "/status" and r["status"] == 200 and r["level"] == "debug" for r in requests),
                        lines)
        self.assertTrue(any(r["path"] == "/missing" and r["status"] == 404 and r["level"] == "warn" for r in requests),
                        lines)
        self.assertTrue(all("time" in line and "level" in line for line in lines))

    def test_unexpected_database_error_is_500_without_detail(self):
        self.cluster.psql("DROP ROLE IF EXISTS gencontrol_nobody; CREATE ROLE gencontrol_nobody LOGIN", dbname=DATABASE)
        shim = Shim("no-grants", 15479, self.cluster.conninfo(DATABASE, user="gencontrol_nobody"))
        self.addCleanup(shim.stop)
        shim.start()
        response = shim.post("/debug/v1/inspect", {"tenant_shard_id": TENANT})
        self.assertEqual(response.status, 500, response)
        self.assertEqual(response.json(), {"msg": "internal error"})
        self.assertRegex(shim.log(), r"permission denied")


if __name__ == "__main__":
    unittest.main()

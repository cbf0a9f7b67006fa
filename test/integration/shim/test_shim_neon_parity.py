"""Neon parity 1.1, with the exact request shapes a current pageserver sends (every optional field
present, null when unset): re-attach and register, a conflicting register (409), the node_id token
binding, GET/POST /upcall/v1/timeline_import_status, /live.

PostgreSQL on 15460; shims on 15483 (auth off) and 15484 (auth on).
"""
import shutil
import tempfile
import unittest

from harness import ClusterTestCase, DATABASE
from shimproc import Ed25519Key, Shim, tenant

TIMELINE = "a1" * 16


def neon_register(node, **fields):
    """NodeRegisterRequest as Neon's pageserver serializes it: every Option present."""
    body = {"node_id": node, "listen_pg_addr": f"ps{node}.local", "listen_pg_port": 6400,
            "listen_http_addr": f"ps{node}.local", "listen_http_port": 9898, "listen_https_port": None,
            "listen_grpc_addr": None, "listen_grpc_port": None, "availability_zone_id": "eu-west-1a",
            "node_ip_addr": None}
    body.update(fields)
    return body


def neon_re_attach(node, register=None):
    return {"node_id": node, "register": register, "empty_local_disk": None}


class ShimNeonParityTest(ClusterTestCase):
    PORT = 15460
    SHIM_PORT = 15483
    AUTH_SHIM_PORT = 15484

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = Shim("parity", cls.SHIM_PORT, cls.cluster.conninfo(DATABASE))
        cls.addClassCleanup(cls.shim.stop)
        cls.shim.start()
        cls.keydir = tempfile.mkdtemp(prefix="gencontrol-parity-")
        cls.addClassCleanup(shutil.rmtree, cls.keydir, True)
        cls.key = Ed25519Key(cls.keydir, "k")
        cls.auth_shim = Shim("parity-auth", cls.AUTH_SHIM_PORT, cls.cluster.conninfo(DATABASE), keys=[cls.key.public])
        cls.addClassCleanup(cls.auth_shim.stop)
        cls.auth_shim.start()

    def sql(self, query, *args):
        with self.connect() as conn, conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None

    def node_row(self, node):
        return self.sql("SELECT listen_http_addr, listen_http_port, listen_pg_addr, listen_pg_port, "
                        "availability_zone, listen_https_port, listen_grpc_addr, listen_grpc_port, "
                        "host(node_ip_addr) FROM gencontrol.nodes WHERE node_id = %s", node)

    def test_re_attach_with_neons_exact_shapes(self):
        response = self.shim.post("/upcall/v1/re-attach", neon_re_attach(11, neon_register(11)))
        self.assertEqual((response.status, response.json()), (200, {"tenants": []}), response)
        self.assertEqual(self.node_row(11), [("ps11.local", 9898, "ps11.local", 6400, "eu-west-1a",
                                              None, None, None, None)])
        gen = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": tenant(11), "node_id": 11,
                                                       "generation_override": None}).json()["gen"]
        # A restart: the same registration again, then validate as the pageserver sends it.
        response = self.shim.post("/upcall/v1/re-attach", neon_re_attach(11, neon_register(11)))
        self.assertEqual(response.status, 200, response)
        self.assertEqual(response.json(), {"tenants": [{"id": tenant(11), "gen": gen + 1, "mode": "AttachedSingle",
                                                        "stripe_size": 2048}]})
        response = self.shim.post("/upcall/v1/validate", {"tenants": [{"id": tenant(11), "gen": gen + 1},
                                                                      {"id": tenant(11), "gen": gen}]})
        self.assertEqual(response.json(), {"tenants": [{"id": tenant(11), "valid": True},
                                                       {"id": tenant(11), "valid": False}]})
        # The optional fields, when set, are kept.
        full = neon_register(12, listen_https_port=9899, listen_grpc_addr="ps12.grpc", listen_grpc_port=51051,
                             node_ip_addr="10.0.0.12")
        self.assertEqual(self.shim.post("/upcall/v1/re-attach", neon_re_attach(12, full)).status, 200)
        self.assertEqual(self.node_row(12), [("ps12.local", 9898, "ps12.local", 6400, "eu-west-1a",
                                              9899, "ps12.grpc", 51051, "10.0.0.12")])

    def test_register_with_other_addresses_is_409_and_changes_nothing(self):
        self.assertEqual(self.shim.post("/upcall/v1/re-attach", neon_re_attach(13, neon_register(13))).status, 200)
        before = self.node_row(13)
        for changed in [dict(listen_http_addr="intruder"), dict(listen_pg_port=6401), dict(listen_http_port=1)]:
            response = self.shim.post("/upcall/v1/re-attach", neon_re_attach(13, neon_register(13, **changed)))
            self.assertEqual(response.status, 409, (changed, response))
            self.assertIn("registered at", response.json()["msg"])
        self.assertEqual(self.node_row(13), before)
        # The same addresses stay idempotent.
        self.assertEqual(self.shim.post("/upcall/v1/re-attach", neon_re_attach(13, neon_register(13))).status, 200)

    def test_unregistered_node_without_register_gets_no_tenants(self):
        response = self.shim.post("/upcall/v1/re-attach", neon_re_attach(14))
        self.assertEqual((response.status, response.json()), (200, {"tenants": []}))
        self.assertEqual(self.node_row(14), [])

    def test_a_node_bound_token_speaks_for_its_node_only(self):
        bound = self.key.token({"scope": "generations_api", "node_id": 15})
        unbound = self.key.token({"scope": "generations_api"})
        shim = self.auth_shim
        self.assertEqual(shim.post("/upcall/v1/re-attach", neon_re_attach(15, neon_register(15)), token=bound).status,
                         200)
        response = shim.post("/upcall/v1/re-attach", neon_re_attach(16, neon_register(16)), token=bound)
        self.assertEqual(response.status, 403, response)
        self.assertTrue(response.json()["msg"].startswith("Forbidden"))
        self.assertEqual(self.node_row(16), [])
        self.assertEqual(shim.post("/upcall/v1/re-attach", neon_re_attach(16), token=bound).status, 403)
        # Neon's tokens carry no node_id: they may act for any node, as in 1.0.
        self.assertEqual(shim.post("/upcall/v1/re-attach", neon_re_attach(16, neon_register(16)),
                                   token=unbound).status, 200)
        # Validate is not bound: a node validates only shards, whose generations fence it anyway.
        self.assertEqual(shim.post("/upcall/v1/validate", {"tenants": []}, token=bound).status, 200)

    def test_timeline_import_status_get_and_post(self):
        self.shim.post("/upcall/v1/re-attach", neon_re_attach(17, neon_register(17)))
        shard = tenant(17)
        gen = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": shard, "node_id": 17}).json()["gen"]
        self.sql("SELECT gencontrol.timeline_import_create(%s, %s, 0)", shard, TIMELINE)
        query = {"tenant_shard_id": shard, "timeline_id": TIMELINE, "generation": gen}

        response = self.shim.request("GET", "/upcall/v1/timeline_import_status", query)
        self.assertEqual((response.status, response.json()), (200, {"InProgress": None}), response)
        progress = {"InProgress": {"V1": {"jobs": 4, "completed": 1, "import_plan_hash": 99}}}
        response = self.shim.post("/upcall/v1/timeline_import_status", dict(query, status=progress))
        self.assertEqual((response.status, response.body), (200, b"null"), response)
        self.assertEqual(self.shim.request("GET", "/upcall/v1/timeline_import_status", query).json(), progress)

        # A newer attachment fences the old generation out: GET 400, POST 412, nothing written.
        self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": shard, "node_id": 17})
        response = self.shim.request("GET", "/upcall/v1/timeline_import_status", query)
        self.assertEqual((response.status, response.json()), (400, {"msg": "Invalid generation"}))
        response = self.shim.post("/upcall/v1/timeline_import_status", dict(query, status="Done"))
        self.assertEqual((response.status, response.json()), (412, {"msg": "Invalid generation"}))
        current = dict(query, generation=gen + 1)
        self.assertEqual(self.shim.request("GET", "/upcall/v1/timeline_import_status", current).json(), progress)
        self.assertEqual(self.shim.post("/upcall/v1/timeline_import_status", dict(current, status="Done")).status, 200)
        self.assertEqual(self.shim.request("GET", "/upcall/v1/timeline_import_status", current).json(), "Done")

        # Unknown import or shard: 404; a malformed status or id: 400.
        other = dict(current, timeline_id="b2" * 16)
        self.assertEqual(self.shim.request("GET", "/upcall/v1/timeline_import_status", other).status, 404)
        unknown = dict(current, tenant_shard_id=tenant(99917))
        self.assertEqual(self.shim.request("GET", "/upcall/v1/timeline_import_status", unknown).status, 404)
        self.assertEqual(self.shim.post("/upcall/v1/timeline_import_status", dict(current, status={"Foo": 1})).status,
                         400)
        response = self.shim.request("GET", "/upcall/v1/timeline_import_status", dict(current, timeline_id="xyz"))
        self.assertEqual(response.status, 400)
        self.assertTrue(response.json()["msg"].startswith("timeline_id"))
        self.assertEqual(self.shim.request("GET", "/upcall/v1/timeline_import_status",
                                           dict(current, generation=4294967295)).status, 400)

    def test_live(self):
        response = self.shim.request("GET", "/live")
        self.assertEqual((response.status, response.json()), (200, {"status": "live"}))
        self.assertEqual(self.auth_shim.request("GET", "/live").status, 200)


if __name__ == "__main__":
    unittest.main()

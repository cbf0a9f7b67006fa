"""gencontrol-node end to end in one pass, against the real shim and PostgreSQL: it answers 503
until start-up re-attach succeeded, takes a location_config, writes, checkpoints (progress visible
after a validate), reads back, compacts, runs its deletions after validation, restarts into the next
generation with its data, and once superseded by another attachment deletes nothing (counted as
dropped). Its store holds exactly the keys docs/design.md names, each layer matching its index.

Also --control-plane-ca-file against a shim serving HTTPS (NodeTlsTest).

Ports (this folder): PostgreSQL 15700-15709, shims 15720-15739, nodes 15740-15759.
"""
import hashlib
import json
import os
import shutil
import tempfile
import time
import unittest

import nodeproc
from harness import ClusterTestCase, DATABASE
from nodeproc import Node
from shimproc import Shim, start_tls_shim

SHIM_PORT = 15721
NODE_PORT = 15740
TLS_SHIM_PORT = 15723
TLS_NODE_PORT = 15741
TENANT = "072f1291a5310026820b2fe4b2968934-0102"
TIMELINE = "de200bd42b49cc1814412c7e592dd6e9"


@unittest.skipUnless(nodeproc.available(), "build/gencontrol-node is not built")
class NodeSmokeTest(ClusterTestCase):
    PORT = 15701

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gencontrol-node-smoke-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.store = os.path.join(self.dir, "remote")
        self.shim = Shim("node-smoke", SHIM_PORT, self.cluster.conninfo(DATABASE))
        self.addCleanup(self.shim.stop)
        self.node = Node(1, NODE_PORT, os.path.join(self.dir, "node1"), self.store, self.dir,
                         control_plane_api=f"http://127.0.0.1:{SHIM_PORT}/upcall/v1/")
        self.addCleanup(self.node.stop)

    def call(self, method, path, body=None, status=200):
        r = self.node.request(method, path, body, timeout=60)
        self.assertEqual(r.status, status, r)
        return r.json()

    def timeline(self, action):
        return f"/v1/tenant/{TENANT}/timeline/{TIMELINE}/{action}"

    def remote_files(self):
        d = os.path.join(self.store, "tenants", TENANT, "timelines", TIMELINE)
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def index(self, generation):
        path = os.path.join(self.store, "tenants", TENANT, "timelines", TIMELINE, f"index_part.json-{generation:08x}")
        with open(path) as f:
            return json.load(f)

    def test_node_lifecycle(self):
        # The shim is down: the node serves /status but holds tenant routes with 503 + Retry-After.
        self.node.start(wait=False)
        self.node.wait_status()
        r = self.node.request("GET", f"/v1/tenant/{TENANT}")
        self.assertEqual(r.status, 503, r)
        self.assertIsNotNone(r.header("retry-after"))
        self.shim.start()
        self.node.wait_ready()

        g = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": TENANT, "node_id": 1}).json()["gen"]
        self.call("PUT", f"/v1/tenant/{TENANT}/location_config", {"mode": "AttachedSingle", "generation": g})
        records = [{"key": f"k{i}", "value": f"v{i}"} for i in range(5)]
        self.assertEqual(self.call("POST", self.timeline("write"), {"records": records})["lsn"], 5)
        self.assertEqual(self.call("POST", self.timeline("checkpoint"), {}),
                         {"remote_consistent_lsn": 5, "remote_consistent_lsn_visible": 5})
        self.call("POST", self.timeline("write"), {"records": [{"key": "k0", "value": "new"}]})
        self.call("POST", self.timeline("checkpoint"), {})
        read = self.call("GET", self.timeline("read"))
        self.assertEqual(read["lsn"], 6)
        self.assertEqual(read["records"]["k0"], "new")

        # Exactly docs/design.md's keys, suffixed with the generation; every listed layer matches.
        suffix = f"-{g:08x}"
        files = self.remote_files()
        self.assertIn(f"index_part.json{suffix}", files)
        self.assertTrue(all(name.endswith(suffix) for name in files), files)
        index = self.index(g)
        self.assertEqual(index["disk_consistent_lsn"], 6)
        self.assertEqual(len(index["layer_metadata"]), 2)
        for name, meta in index["layer_metadata"].items():
            self.assertEqual(meta["generation"], g)
            with open(os.path.join(self.store, "tenants", TENANT, "timelines", TIMELINE, name + suffix), "rb") as f:
                data = f.read()
            self.assertEqual(meta["file_size"], len(data))
            self.assertEqual(meta["checksum"], hashlib.sha256(data).hexdigest())
            self.assertEqual(json.loads(data.splitlines()[0])["lsn"] >= 1, True)

        # Compaction: the replaced layers go through validation, then out of the store.
        self.assertEqual(self.call("POST", self.timeline("compact"), {})["layers_replaced"], 2)
        counters = self.call("POST", "/v1/deletion_queue/flush", {"execute": True})
        self.assertEqual((counters["executed"], counters["dropped"]), (2, 0))
        self.assertEqual(len(self.remote_files()), 2)  # the image and the index
        self.assertGreaterEqual(self.node.metric('gencontrol_node_validations_total{result="valid"}'), 2)

        # Restart: re-attach moves the shard to g + 1 and the data comes back from the store.
        self.assertEqual(self.node.stop(), 0)
        self.node.start()
        self.node.wait_ready()
        described = self.call("GET", f"/v1/tenant/{TENANT}")
        self.assertEqual((described["mode"], described["generation"]), ("AttachedSingle", g + 1))
        self.assertEqual(self.call("GET", self.timeline("read"))["records"]["k0"], "new")
        # Progress restarts with the attachment: a loaded index promises nothing until this node
        # uploaded its own (the same state, under g + 1) and validated.
        self.assertEqual(described["timelines"][TIMELINE]["remote_consistent_lsn_visible"], 0)
        self.assertEqual(self.call("POST", self.timeline("checkpoint"), {}),
                         {"remote_consistent_lsn": 6, "remote_consistent_lsn_visible": 6})
        self.assertIn(f"index_part.json-{g + 1:08x}", self.remote_files())

        # Superseded (another node attached it): progress stays invisible and deletions are dropped.
        self.shim.post("/upcall/v1/re-attach", {"node_id": 2, "register": {
            "node_id": 2, "listen_pg_addr": "127.0.0.1", "listen_pg_port": 6401, "listen_http_addr": "127.0.0.1",
            "listen_http_port": 9899, "availability_zone_id": "local"}})
        self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": TENANT, "node_id": 2})
        self.call("POST", self.timeline("write"), {"records": [{"key": "k1", "value": "stale"}]})
        progress = self.call("POST", self.timeline("checkpoint"), {})
        self.assertEqual(progress["remote_consistent_lsn"], 7)
        self.assertEqual(progress["remote_consistent_lsn_visible"], 6)  # what it confirmed before B came
        self.assertEqual(self.call("POST", self.timeline("compact"), {})["layers_replaced"], 2)
        before = set(self.remote_files())
        counters = self.call("POST", "/v1/deletion_queue/flush", {"execute": True})
        self.assertEqual(counters["dropped"], 2)
        self.assertTrue(before <= set(self.remote_files()), "a stale node deleted something")
        self.assertGreaterEqual(self.node.metric('gencontrol_node_validations_total{result="invalid"}'), 1)

    def test_node_over_sql(self):
        """The same start and checkpoint with --control-plane-database-url: re-attach and validate in SQL."""
        self.shim.start()  # only to attach the shard, as a controller would
        node = Node(3, NODE_PORT + 1, os.path.join(self.dir, "node3"), self.store, self.dir,
                    args=["--control-plane-database-url", self.cluster.conninfo(DATABASE)])
        self.addCleanup(node.stop)
        node.start()
        node.wait_ready()
        g = self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": TENANT, "node_id": 3}).json()["gen"]
        r = node.request("PUT", f"/v1/tenant/{TENANT}/location_config", {"mode": "AttachedSingle", "generation": g})
        self.assertEqual(r.status, 200, r)
        r = node.request("POST", self.timeline("write"), {"records": [{"key": "k", "value": "v"}]})
        self.assertEqual(r.json()["lsn"], 1)
        r = node.request("POST", self.timeline("checkpoint"), {})
        self.assertEqual(r.json(), {"remote_consistent_lsn": 1, "remote_consistent_lsn_visible": 1})
        self.assertIn(f"index_part.json-{g:08x}", self.remote_files())


@unittest.skipUnless(nodeproc.available(), "build/gencontrol-node is not built")
class NodeTlsTest(ClusterTestCase):
    PORT = 15702

    def registered(self, node_id):
        with self.connect().cursor() as cur:
            cur.execute("SELECT count(*) FROM gencontrol.nodes WHERE node_id = %s", (node_id,))
            return cur.fetchone()[0]

    def test_https_control_plane_through_its_ca_file(self):
        """--control-plane-ca-file: the shim serves HTTPS under a self-signed certificate. The
        control first: the node without the flag (the system's CAs) is refused at the handshake,
        says so in its log, stays 503 and never registers. The same node with the certificate as
        its CA file re-attaches (registering itself) and serves."""
        certs = tempfile.mkdtemp(prefix="gencontrol-node-tls-")
        self.addCleanup(shutil.rmtree, certs, True)
        shim, cert = start_tls_shim("node-tls", TLS_SHIM_PORT, self.cluster.conninfo(DATABASE), certs)
        self.addCleanup(shim.stop)
        api = f"https://127.0.0.1:{TLS_SHIM_PORT}/upcall/v1/"

        untrusting = Node(7, TLS_NODE_PORT, os.path.join(certs, "node7"), os.path.join(certs, "remote"), certs,
                          control_plane_api=api)
        self.addCleanup(untrusting.stop)
        untrusting.start(wait=False)
        untrusting.wait_status()
        deadline = time.monotonic() + 30
        while "certificate" not in untrusting.log_tail().lower():
            self.assertLess(time.monotonic(), deadline, untrusting.log_tail())
            time.sleep(0.1)
        self.assertEqual(untrusting.request("GET", f"/v1/tenant/{TENANT}").status, 503)
        self.assertEqual(self.registered(7), 0)
        untrusting.stop()

        trusting = Node(7, TLS_NODE_PORT, os.path.join(certs, "node7"), os.path.join(certs, "remote"), certs,
                        control_plane_api=api, args=["--control-plane-ca-file", cert])
        self.addCleanup(trusting.stop)
        trusting.start()
        self.assertEqual(trusting.request("GET", f"/v1/tenant/{TENANT}").status, 404)
        self.assertEqual(self.registered(7), 1)


if __name__ == "__main__":
    unittest.main()

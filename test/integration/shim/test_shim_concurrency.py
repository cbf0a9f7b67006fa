"""64 concurrent clients on one gencontrol-http (pool of 8) mixing attach-hook, validate and
re-attach on the same shards, each over its own keep-alive connection: no request may fail, and
no generation may be handed out twice.

PostgreSQL on 15456; the shim on 15477.
"""
import collections
import http.client
import json
import random
import threading
import unittest

from harness import ClusterTestCase, DATABASE
from shimproc import Shim, tenant

CLIENTS = 64
REQUESTS_PER_CLIENT = 25
NODES = 4
TENANTS = [tenant(0x7000 + i, (i % 2, 2) if i % 3 == 0 else None) for i in range(32)]


class ShimConcurrencyTest(ClusterTestCase):
    PORT = 15456

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.shim = Shim("concurrency", 15477, cls.cluster.conninfo(DATABASE))
        cls.addClassCleanup(cls.shim.stop)
        cls.shim.start()
        for node in range(1, NODES + 1):
            register = {"node_id": node, "listen_pg_addr": f"ps{node}", "listen_pg_port": 6400,
                        "listen_http_addr": f"ps{node}", "listen_http_port": 9898, "availability_zone_id": "az"}
            assert cls.shim.post("/upcall/v1/re-attach", {"node_id": node, "register": register}).status == 200

    def test_64_clients_mixing_attach_validate_and_re_attach(self):
        failures = []
        issued = collections.defaultdict(list)  # tenant -> every generation an answer handed out
        lock = threading.Lock()
        known = {}  # tenant -> a generation seen, for validate requests

        def client(number):
            rng = random.Random(number)
            conn = http.client.HTTPConnection("127.0.0.1", self.shim.port, timeout=60)
            try:
                for i in range(REQUESTS_PER_CLIENT):
                    kind = rng.choice(("attach", "attach", "validate", "validate", "re-attach"))
                    node = rng.randint(1, NODES)
                    if kind == "attach":
                        path, body = "/debug/v1/attach-hook", {"tenant_shard_id": rng.choice(TENANTS), "node_id": node}
                    elif kind == "validate":
                        with lock:
                            snapshot = dict(known)
                        entries = [{"id": t, "gen": snapshot.get(t, 1)} for t in rng.sample(TENANTS, 16)] * 8
                        path, body = "/upcall/v1/validate", {"tenants": entries}
                    else:
                        path, body = "/upcall/v1/re-attach", {"node_id": node}
                    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    payload = response.read()
                    if response.status != 200:
                        failures.append((path, response.status, payload[:200]))
                        continue
                    answer = json.loads(payload)
                    with lock:
                        if kind == "attach":
                            issued[body["tenant_shard_id"]].append(answer["gen"])
                            known[body["tenant_shard_id"]] = answer["gen"]
                        elif kind == "re-attach":
                            for t in answer["tenants"]:
                                if t["gen"] is not None:
                                    issued[t["id"]].append(t["gen"])
                        elif len(answer["tenants"]) > len(body["tenants"]):
                            failures.append((path, "more answers than entries", len(answer["tenants"])))
            except Exception as e:  # noqa: BLE001 - any client error is a failed request
                failures.append(("client", number, repr(e)))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse(any(t.is_alive() for t in threads), "a client hung")
        self.assertEqual(failures, [])
        total = sum(len(v) for v in issued.values())
        self.assertGreater(total, CLIENTS * REQUESTS_PER_CLIENT // 4)
        for t, generations in issued.items():
            self.assertEqual(len(generations), len(set(generations)), f"{t} was handed a generation twice")
        # The shim's own count agrees: every request answered 200.
        ok = sum(self.shim.metric(f'gencontrol_http_requests_total{{route="{route}",method="POST",status="200"}}') or 0
                 for route in ("/debug/v1/attach-hook", "/upcall/v1/validate", "/upcall/v1/re-attach"))
        self.assertGreaterEqual(ok, CLIENTS * REQUESTS_PER_CLIENT)


if __name__ == "__main__":
    unittest.main()

"""gencontrol-http while its database comes and goes: stopped and restarted (also kill -9) under a
running shim (503 + Retry-After, then success without a shim restart); SIGTERM with a request in
flight; a hot standby (503, /ready 503); and a multi-host conninfo following a promoted standby.

PostgreSQL on 15453 (restart), 15454 + 15455 (primary + standby); shims on 15473-15476, 15480.
"""
import signal
import socket
import threading
import time
import unittest

from harness import ClusterTestCase, DATABASE, connect
from pgcluster import Cluster
from shimproc import Shim, tenant

REGISTER = {"node_id": 1, "listen_pg_addr": "ps1", "listen_pg_port": 6400, "listen_http_addr": "ps1",
            "listen_http_port": 9898, "availability_zone_id": "az"}


def eventually(call, accept, timeout=30, interval=0.1):
    """Calls until accept(result) holds; returns the last result (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        result = call()
        if accept(result) or time.monotonic() > deadline:
            return result
        time.sleep(interval)


class ShimDatabaseRestartTest(ClusterTestCase):
    PORT = 15453

    def setUp(self):
        self.shim = Shim(f"restart-{self._testMethodName}", 15473, self.cluster.conninfo(DATABASE),
                         args=["--request-timeout", "5"])
        self.addCleanup(self.shim.stop)
        self.shim.start()
        self.assertEqual(self.shim.post("/upcall/v1/re-attach", {"node_id": 1, "register": REGISTER}).status, 200)

    def attach(self, t):
        return self.shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1}, timeout=20)

    def assertUnavailable(self, response):
        self.assertEqual(response.status, 503, response)
        self.assertEqual(response.header("retry-after"), "1")
        self.assertIn("database", response.json()["msg"])

    def test_database_stopped_and_restarted_under_the_running_shim(self):
        t = tenant(0x5001)
        pid = self.shim.proc.pid
        for stop in (lambda: self.cluster.stop("fast"), self.cluster.kill9):
            before = self.attach(t)
            self.assertEqual(before.status, 200, before)
            # Every pooled connection has been used, so each one must notice the restart.
            for _ in range(10):
                self.assertEqual(self.shim.post("/upcall/v1/validate", {"tenants": [{"id": t, "gen": 1}]}).status, 200)

            stop()
            self.assertUnavailable(self.attach(t))
            self.assertUnavailable(self.shim.post("/upcall/v1/validate", {"tenants": [{"id": t, "gen": 1}]}))
            self.assertUnavailable(self.shim.post("/upcall/v1/re-attach", {"node_id": 1}))
            self.assertUnavailable(self.shim.request("GET", "/ready"))
            self.assertEqual(self.shim.request("GET", "/status").status, 200)

            self.cluster.start()
            after = eventually(lambda: self.attach(t), lambda r: r.status == 200)
            self.assertEqual(after.status, 200, after)
            self.assertGreater(after.json()["gen"], before.json()["gen"])
            # The rest of the pool recovers too: no request fails once the database is back.
            for _ in range(20):
                self.assertEqual(self.shim.post("/upcall/v1/validate", {"tenants": [{"id": t, "gen": 1}]}).status, 200)
            self.assertEqual(self.shim.request("GET", "/ready").status, 200)
        self.assertGreaterEqual(self.shim.metric("gencontrol_db_reconnects_total"), 2)
        self.assertGreaterEqual(self.shim.metric('gencontrol_db_errors_total{kind="unavailable"}'), 2)
        self.assertIsNone(self.shim.proc.poll(), "the shim must keep running throughout")
        self.assertEqual(self.shim.proc.pid, pid)

    def test_sigterm_answers_the_request_in_flight_then_exits_0(self):
        t = tenant(0x5002)
        self.assertEqual(self.attach(t).status, 200)
        # Hold the shard's row lock so the next attach waits inside the database.
        blocker = connect(self.cluster, autocommit=False)
        self.addCleanup(blocker.close)
        with blocker.cursor() as cur:
            cur.execute("SELECT 1 FROM gencontrol.tenant_shards "
                        "WHERE id OPERATOR(gencontrol.=) %s::gencontrol.tenant_shard_id FOR UPDATE", (t,))
        result = {}
        in_flight = threading.Thread(target=lambda: result.setdefault("response", self.attach(t)))
        in_flight.start()
        eventually(lambda: self.shim.metric("gencontrol_db_pool_in_use"), lambda v: v == 1, timeout=10)

        self.shim.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(self.shim.proc.poll(), "the shim exited with a request in flight")
        # It no longer accepts connections.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.shim.port), timeout=2).close()

        blocker.rollback()
        in_flight.join(20)
        self.assertEqual(result["response"].status, 200, result["response"])
        self.assertEqual(self.shim.proc.wait(20), 0)
        self.assertIn("stopping: answering the requests in flight", self.shim.log())


    def test_a_database_that_does_not_answer_in_time_is_503(self):
        t = tenant(0x5003)
        self.assertEqual(self.attach(t).status, 200)
        shim = Shim("query-timeout", 15480, self.cluster.conninfo(DATABASE), args=["--request-timeout", "1"])
        self.addCleanup(shim.stop)
        shim.start()
        blocker = connect(self.cluster, autocommit=False)
        self.addCleanup(blocker.close)
        with blocker.cursor() as cur:
            cur.execute("SELECT 1 FROM gencontrol.tenant_shards "
                        "WHERE id OPERATOR(gencontrol.=) %s::gencontrol.tenant_shard_id FOR UPDATE", (t,))
        response = shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1}, timeout=15)
        self.assertEqual(response.status, 503, response)
        self.assertEqual(response.header("retry-after"), "1")
        blocker.rollback()
        # The pool recovers on its own.
        after = eventually(lambda: shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1}),
                           lambda r: r.status == 200)
        self.assertEqual(after.status, 200, after)


class ShimStandbyAndFailoverTest(ClusterTestCase):
    PORT = 15454
    STANDBY_PORT = 15455

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standby = Cluster("it-shimstandby", cls.STANDBY_PORT).init(replica_of=cls.cluster).start()
        cls.addClassCleanup(cls.standby.stop, "immediate")
        cls.primary_shim = Shim("failover-setup", 15474, cls.cluster.conninfo(DATABASE))
        cls.addClassCleanup(cls.primary_shim.stop)
        cls.primary_shim.start()
        assert cls.primary_shim.post("/upcall/v1/re-attach", {"node_id": 1, "register": REGISTER}).status == 200

    def wait_replayed(self, t, generation):
        """Until the standby has replayed the attach that issued `generation`."""
        def standby_generation():
            out = self.standby.psql("SELECT generation FROM gencontrol.tenant_shards "
                                    f"WHERE id OPERATOR(gencontrol.=) '{t}'::gencontrol.tenant_shard_id", dbname=DATABASE)
            return int(out) if out else 0
        self.assertEqual(eventually(standby_generation, lambda g: g >= generation), generation)

    # Named a_ and b_ so the standby is tested before the failover promotes it.
    def test_a_a_hot_standby_answers_503_and_is_not_ready(self):
        t = tenant(0x6001)
        gen = self.primary_shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1}).json()["gen"]
        self.wait_replayed(t, gen)
        shim = Shim("standby-only", 15475, self.standby.conninfo(DATABASE))
        self.addCleanup(shim.stop)
        shim.start()
        ready = shim.request("GET", "/ready")
        self.assertEqual(ready.status, 503, ready)
        self.assertEqual(ready.header("retry-after"), "1")
        for path, body in [("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1}),
                           ("/upcall/v1/validate", {"tenants": [{"id": t, "gen": gen}]}),
                           ("/upcall/v1/re-attach", {"node_id": 1})]:
            with self.subTest(path=path):
                response = shim.post(path, body)
                self.assertEqual(response.status, 503, response)
                self.assertEqual(response.header("retry-after"), "1")
                self.assertIn("not a primary", response.json()["msg"])
        # Reading the current attachment is allowed on a standby.
        inspect = shim.post("/debug/v1/inspect", {"tenant_shard_id": t})
        self.assertEqual(inspect.status, 200, inspect)
        self.assertEqual(inspect.json(), {"attachment": [gen, 1]})

    def test_b_a_multi_host_conninfo_follows_a_promoted_standby(self):
        url = (f"host={self.cluster.sockdir},{self.standby.sockdir} port={self.PORT},{self.STANDBY_PORT} "
               f"dbname={DATABASE} user=postgres target_session_attrs=read-write connect_timeout=2")
        shim = Shim("failover", 15476, url)
        self.addCleanup(shim.stop)
        shim.start()
        t = tenant(0x6002)
        first = shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1})
        self.assertEqual(first.status, 200, first)
        self.wait_replayed(t, first.json()["gen"])

        self.primary_shim.stop()
        self.cluster.stop("immediate")
        # No primary anywhere: the shim answers 503 rather than using the standby.
        down = shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1})
        self.assertEqual(down.status, 503, down)
        self.assertEqual(shim.request("GET", "/ready").status, 503)

        self.standby.promote()
        after = eventually(lambda: shim.post("/debug/v1/attach-hook", {"tenant_shard_id": t, "node_id": 1}),
                           lambda r: r.status == 200)
        self.assertEqual(after.status, 200, after)
        self.assertGreater(after.json()["gen"], first.json()["gen"])
        self.assertEqual(shim.request("GET", "/ready").status, 200)
        self.assertEqual(shim.post("/upcall/v1/validate", {"tenants": [{"id": t, "gen": after.json()["gen"]}]}).json(),
                         {"tenants": [{"id": t, "valid": True}]})


if __name__ == "__main__":
    unittest.main()

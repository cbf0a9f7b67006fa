"""Failover managed by Patroni (synchronous_mode, synchronous_commit = on) with a one-member
etcd on loopback, under load: the leader's host "crashes" (Patroni and the postmaster killed
with kill -9); Patroni promotes the synchronous standby once the leader key expires; clients
(multi-host libpq and the HTTP shim when built) follow; the history checks clean and nothing
acknowledged is missing on the new leader."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import psycopg2  # noqa: E402

from harness import DATABASE  # noqa: E402
from history import FAIL, OK, check, lost_acknowledgements  # noqa: E402
from load import Load, scaled, standard_targets, stored_generations, summary  # noqa: E402
from patroni_cluster import ETCD, PATRONI, Etcd, PatroniNode  # noqa: E402
from shimproc import Shim, available as shim_available  # noqa: E402

ETCD_CLIENT, ETCD_PEER = 15540, 15541
PG_PORTS, REST_PORTS = (15542, 15543), (15544, 15545)
SHIM_PORT = 15546
SCOPE = "gencontrol-it"


def wait_for(predicate, timeout, what, log=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{log()}")


@unittest.skipUnless(os.access(PATRONI, os.X_OK) and os.access(ETCD, os.X_OK),
                     "patroni or etcd-server is not installed (scripts/bootstrap.sh installs them)")
class PatroniFailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.etcd = Etcd("it-guarantees-patroni-etcd", ETCD_CLIENT, ETCD_PEER)
        cls.addClassCleanup(cls.etcd.stop)
        cls.etcd.start()
        cls.nodes = [PatroniNode(SCOPE, f"it-guarantees-patroni-{i + 1}", PG_PORTS[i], REST_PORTS[i],
                                 cls.etcd, "etcd3") for i in range(2)]
        first, second = cls.nodes
        # Cleanups run last-in first-out: the standby stops before the leader.
        cls.addClassCleanup(first.stop)
        first.start()
        wait_for(first.is_primary, 60, "the first node to lead", first.log_tail)
        cls.addClassCleanup(second.stop)
        second.start()
        wait_for(second.is_sync_standby, 90, "the second node to be the synchronous standby",
                 second.log_tail)
        first.cluster.create_database(DATABASE, ["gencontrol"])
        cls.dsn = (f"host=127.0.0.1,127.0.0.1 port={PG_PORTS[0]},{PG_PORTS[1]} dbname={DATABASE} "
                   f"user=postgres target_session_attrs=read-write connect_timeout=3")
        cls.shim = None
        if shim_available():
            cls.shim = Shim("it-guarantees-patroni-shim", SHIM_PORT, cls.dsn, args=["--pool-size", "8"], log_level="info")
            cls.addClassCleanup(cls.shim.stop)
            cls.shim.start()
            cls.shim_pid = cls.shim.proc.pid
        cls.settings = first.cluster.psql(
            "SELECT current_setting('synchronous_commit') || ' ' || current_setting('synchronous_standby_names')")
        cls.run_failover()

    @classmethod
    def run_failover(cls):
        leader, standby = cls.nodes
        targets = standard_targets(cls.dsn, SHIM_PORT if cls.shim else None)
        cls.load = load = Load(targets, seed=41)
        load.prepare(cls.dsn)
        began = time.monotonic()
        load.start()
        try:
            time.sleep(scaled(8, 60))
            cls.standby_refusal = validate_code(standby.cluster.conninfo(DATABASE), load.hot[0])
            leader.kill9()
            killed = time.monotonic()
            wait_for(standby.is_primary, 60, "Patroni to promote the synchronous standby",
                     standby.log_tail)
            cls.promoted_at = time.monotonic_ns()
            cls.failover_seconds = time.monotonic() - killed
            time.sleep(scaled(8, 60))
        finally:
            cls.stuck = load.stop()
        cls.stored = stored_generations(standby.cluster.conninfo(DATABASE))
        cls.report = check(load.history, cls.stored)
        summary("failover (Patroni + etcd, synchronous_mode)", cls.report,
                "1 (kill -9 of the leader's Patroni and postmaster)", time.monotonic() - began, load,
                f"acknowledged then lost {lost_acknowledgements(load.history, cls.stored)}, "
                f"Patroni promoted the standby {cls.failover_seconds:.1f} s after the kill")

    def test_settings(self):
        self.assertEqual(self.settings, f'on "{self.nodes[1].name}"')

    def test_standby_refused_validate(self):
        self.assertEqual(self.standby_refusal, "25006")

    def test_history_checks_clean_and_nothing_acknowledged_is_missing(self):
        self.assertEqual(self.report.violations, [], self.report.explain())

    def test_nothing_was_refused(self):
        self.assertEqual(self.load.outcomes()[FAIL], 0,
                         f"operations were refused: {self.load.errors.most_common(5)}")

    def test_clients_stopped(self):
        self.assertEqual(self.stuck, [])

    def test_the_synchronous_standby_leads(self):
        self.assertIn(self.nodes[1].role(), ("master", "primary"))
        self.assertTrue(self.nodes[1].is_primary())
        self.assertEqual(self.nodes[1].cluster.psql("SELECT pg_is_in_recovery()"), "f")

    def test_sql_clients_followed_the_failover(self):
        self.assertGreater(self.load.outcomes("sql", since_ns=self.promoted_at)[OK], 100)

    @unittest.skipUnless(shim_available(), "build/gencontrol-http is not built: the load ran through SQL only")
    def test_shim_followed_the_failover_without_restart(self):
        self.assertTrue(self.shim.alive())
        self.assertEqual(self.shim.proc.pid, self.shim_pid)
        self.assertGreater(self.load.outcomes("http", since_ns=self.promoted_at)[OK], 10,
                           f"{self.load.errors.most_common(5)}\n{self.shim.log_tail()}")


def validate_code(dsn, tenant):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT gencontrol.gen_validate(%s, 1)", (tenant,))
        return None
    except psycopg2.Error as e:
        return e.pgcode
    finally:
        conn.close()


if __name__ == "__main__":
    unittest.main()

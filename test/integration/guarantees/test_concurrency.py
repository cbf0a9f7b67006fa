"""Linearizability under concurrency: 32 clients (64 in make test-long) attach, re-attach and
validate hot and cold shards through SQL and, when it is built, the HTTP shim, while random
client backends are terminated; the recorded history must check clean."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import psycopg2  # noqa: E402

from harness import DATABASE, fresh_cluster  # noqa: E402
from history import FAIL, OK, check  # noqa: E402
from load import Load, scaled, standard_targets, stored_generations, summary  # noqa: E402
from shimproc import Shim, available as shim_available  # noqa: E402

PORT = 15500
SHIM_PORT = 15501


def terminate_random_backends(dsn, count):
    """Kills `count` random client sessions of the test database (shim pool ones included)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ("
                        "  SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
                        "  backend_type = 'client backend' AND pid <> pg_backend_pid() "
                        "  ORDER BY random() LIMIT %s) victims", (DATABASE, count))
            return cur.fetchone()[0]
    finally:
        conn.close()


class ConcurrencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cluster = fresh_cluster("it-guarantees-concurrency", PORT)
        cls.addClassCleanup(cls.cluster.stop, "immediate")
        cls.dsn = cls.cluster.conninfo(DATABASE)
        cls.shim = None
        if shim_available():
            cls.shim = Shim("it-guarantees-concurrency-shim", SHIM_PORT, cls.dsn, args=["--pool-size", "8"], log_level="info")
            cls.addClassCleanup(cls.shim.stop)
            cls.shim.start()

        cls.run_load()

    @classmethod
    def run_load(cls):
        targets = standard_targets(cls.dsn, SHIM_PORT if cls.shim else None)
        cls.load = load = Load(targets, seed=11)
        load.prepare(cls.dsn)
        duration = scaled(25, 240)
        faults = 0
        began = time.monotonic()
        load.start()
        try:
            while time.monotonic() - began < duration:
                time.sleep(2)
                faults += terminate_random_backends(cls.dsn, 3)
        finally:
            cls.stuck = load.stop()
        cls.report = check(load.history, stored_generations(cls.dsn))
        summary("concurrency", cls.report, f"{faults} (backend terminations)", time.monotonic() - began,
                load=load)

    def test_history_checks_clean(self):
        self.assertEqual(self.report.violations, [], self.report.explain())

    def test_nothing_was_refused(self):
        self.assertEqual(self.load.outcomes()[FAIL], 0,
                         f"operations were refused: {self.load.errors.most_common(5)}")

    def test_clients_stopped(self):
        self.assertEqual(self.stuck, [])

    def test_load_was_real(self):
        self.assertGreater(self.report.acknowledged, 1000,
                           f"too little load; errors: {self.load.errors.most_common(5)}")
        self.assertGreater(self.load.outcomes("sql")[OK], 1000)
        self.assertGreater(self.load.outcomes("sql-rr")[OK], 200)

    @unittest.skipUnless(shim_available(), "build/gencontrol-http is not built: the load ran through SQL only")
    def test_shim_clients_made_progress(self):
        self.assertGreater(self.load.outcomes("http")[OK], 100,
                           f"shim clients made no progress: {self.load.errors.most_common(5)}\n"
                           f"{self.shim.log_tail()}")

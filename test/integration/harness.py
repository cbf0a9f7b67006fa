"""What every integration test shares: real PostgreSQL clusters started for the test.

Clusters come from scripts/pgcluster.py (servers run as the `postgres` user when the tests
run as root). A test class that needs one subclasses ClusterTestCase and sets PORT; the
cluster is created fresh for the class and stopped afterwards, also when a test fails.
Ports: pgTAP 15440; extension tests 15441-15449; shim tests 15450-15499;
guarantee tests (concurrency, crash, failover) 15500-15599; benchmarks 15600-15699.
"""
import os
import sys
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from pgcluster import PG_BIN as PG_BIN_DIR, Cluster  # noqa: E402

import psycopg2  # noqa: E402

DATABASE = "gencontrol_it"


def fresh_cluster(name, port, conf=None, dbname=DATABASE, extensions=("gencontrol",)):
    """A new, started cluster with `dbname` created and the extensions installed in it."""
    cluster = Cluster(name, port).init(conf).start()
    if dbname:
        cluster.create_database(dbname, extensions)
    return cluster


def connect(cluster, dbname=DATABASE, autocommit=True, **kwargs):
    conn = psycopg2.connect(cluster.conninfo(dbname), **kwargs)
    conn.autocommit = autocommit
    return conn


class ClusterTestCase(unittest.TestCase):
    """A test class with its own fresh cluster, on the port the subclass names."""

    PORT = None
    CONF = None
    EXTENSIONS = ("gencontrol",)

    @classmethod
    def setUpClass(cls):
        name = f"it-{cls.__name__.lower()}"
        cls.cluster = fresh_cluster(name, cls.PORT, cls.CONF, extensions=cls.EXTENSIONS)
        cls.addClassCleanup(cls.cluster.stop, "immediate")

    def connect(self, **kwargs):
        conn = connect(self.cluster, **kwargs)
        self.addCleanup(conn.close)
        return conn

    # --- several sessions of one scenario, for the lock-order tests ------------------------------
    SESSION_SETUP = ("SET search_path = gencontrol, public",)

    def session(self, autocommit=True):
        """A new connection with SESSION_SETUP run in it: (connection, cursor, backend pid)."""
        conn = self.connect(autocommit=autocommit)
        cur = conn.cursor()
        for statement in self.SESSION_SETUP:
            cur.execute(statement)
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        if not autocommit:
            conn.commit()
        return conn, cur, pid

    @staticmethod
    def in_thread(cur, sql, args=()):
        """Runs one statement on its own thread; the outcome (rows, or the error's SQLSTATE and
        message) lands in the dict returned with the thread."""
        outcome = {}

        def run():
            try:
                cur.execute(sql, args)
                outcome["rows"] = cur.fetchall()
            except psycopg2.Error as error:
                outcome["error"] = (error.pgcode, str(error).strip())

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread, outcome

    def lock_wait(self, pid, thread=None, timeout=60):
        """Waits until backend `pid` waits for a lock and returns the pids blocking it. With the
        `thread` running its statement, None if that statement ends first; fails after `timeout` s."""
        monitor = self.connect().cursor()
        deadline = time.monotonic() + timeout
        while thread is None or thread.is_alive():
            monitor.execute("SELECT wait_event_type, pg_blocking_pids(pid) FROM pg_stat_activity WHERE pid = %s",
                            (pid,))
            wait_event_type, blockers = monitor.fetchone()
            if wait_event_type == "Lock" and blockers:
                return blockers
            if time.monotonic() > deadline:
                self.fail(f"backend {pid} never waited for a lock")
            time.sleep(0.02)
        return None

"""Failover to a synchronous streaming standby under load: the standby refuses gen_validate
while it is one; the primary is killed with kill -9 and the standby promoted; clients (libpq
multi-host conninfo with target_session_attrs=read-write, and the HTTP shim when built) follow
it without a restart; the history checks clean and nothing acknowledged is missing on the new
primary. synchronous_commit is off on both servers: gencontrol alone makes its commits wait
for the standby."""
import os
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import psycopg2  # noqa: E402

from harness import DATABASE, fresh_cluster  # noqa: E402
from history import FAIL, OK, check, lost_acknowledgements  # noqa: E402
from load import Load, scaled, standard_targets, stored_generations, summary  # noqa: E402
from pgcluster import Cluster  # noqa: E402
from shimproc import Shim, available as shim_available  # noqa: E402

PRIMARY_PORT, STANDBY_PORT, SHIM_PORT = 15520, 15521, 15522
CANCEL_PRIMARY_PORT, CANCEL_STANDBY_PORT = 15523, 15524
STANDBY_NAME = "gencontrol_standby"

CONF = {
    "listen_addresses": "'127.0.0.1'",
    "synchronous_commit": "off",
    "wal_writer_delay": "'10000ms'",
}


def multi_host_conninfo(*clusters):
    hosts = ",".join("127.0.0.1" for _ in clusters)
    ports = ",".join(str(c.port) for c in clusters)
    return (f"host={hosts} port={ports} dbname={DATABASE} user=postgres "
            f"target_session_attrs=read-write connect_timeout=3")


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def make_synchronous_standby(primary, standby):
    """A streaming standby of `primary` that the primary's commits wait for."""
    standby.init(CONF, replica_of=primary)
    standby.append_conf({"primary_conninfo": f"'host={primary.sockdir} port={primary.port} "
                                             f"user=postgres application_name={STANDBY_NAME}'"})
    standby.start()
    primary.psql(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
    primary.psql("SELECT pg_reload_conf()")
    wait_for(lambda: primary.psql("SELECT sync_state FROM pg_stat_replication "
                                  f"WHERE application_name = '{STANDBY_NAME}'") == "sync",
             30, "the standby to become synchronous")


class FailoverTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.primary = fresh_cluster("it-guarantees-failover-a", PRIMARY_PORT, CONF)
        cls.addClassCleanup(cls.primary.stop, "immediate")
        cls.standby = Cluster("it-guarantees-failover-b", STANDBY_PORT)
        cls.addClassCleanup(cls.standby.stop_if_running)
        make_synchronous_standby(cls.primary, cls.standby)
        cls.dsn = multi_host_conninfo(cls.primary, cls.standby)
        cls.shim = None
        if shim_available():
            cls.shim = Shim("it-guarantees-failover-shim", SHIM_PORT, cls.dsn, args=["--pool-size", "8"], log_level="info")
            cls.addClassCleanup(cls.shim.stop)
            cls.shim.start()
            cls.shim_pid = cls.shim.proc.pid
        cls.run_failover()

    @classmethod
    def run_failover(cls):
        targets = standard_targets(cls.dsn, SHIM_PORT if cls.shim else None)
        cls.load = load = Load(targets, seed=37)
        load.prepare(cls.dsn)
        began = time.monotonic()
        load.start()
        try:
            time.sleep(scaled(8, 60) / 2)
            cls.standby_refusals = cls.validate_on_standby()
            cls.standby_inspect = cls.standby.psql(
                f"SELECT count(*) FROM gencontrol.gen_inspect('{load.hot[0]}')", dbname=DATABASE)
            time.sleep(scaled(8, 60) / 2)
            cls.primary.kill9()
            cls.killed_at = time.monotonic_ns()
            time.sleep(1)  # the time a failure detector would take
            cls.standby.promote()
            cls.promoted_at = time.monotonic_ns()
            time.sleep(scaled(8, 60))
        finally:
            cls.stuck = load.stop()
        cls.stored = stored_generations(cls.standby.conninfo(DATABASE))
        cls.report = check(load.history, cls.stored)
        cls.summary = summary("failover (synchronous standby, pg_ctl promote)", cls.report,
                              "1 (kill -9 of the primary, then promote)", time.monotonic() - began,
                              load, f"acknowledged then lost "
                                    f"{lost_acknowledgements(load.history, cls.stored)}")

    @classmethod
    def validate_on_standby(cls):
        """SQLSTATEs of gen_validate, single and batch, on the standby while it is one."""
        conn = psycopg2.connect(cls.standby.conninfo(DATABASE))
        conn.autocommit = True
        codes = []
        try:
            for sql in (f"SELECT gencontrol.gen_validate('{cls.load.hot[0]}', 1)",
                        f"SELECT * FROM gencontrol.gen_validate(ARRAY['{cls.load.hot[0]}']"
                        "::gencontrol.tenant_shard_id[], ARRAY[1])"):
                try:
                    with conn.cursor() as cur:
                        cur.execute(sql)
                    codes.append(None)
                except psycopg2.Error as e:
                    codes.append(e.pgcode)
        finally:
            conn.close()
        return codes

    def test_standby_refused_validate(self):
        self.assertEqual(self.standby_refusals, ["25006", "25006"])

    def test_standby_answered_inspect(self):
        self.assertEqual(self.standby_inspect, "1")

    def test_history_checks_clean_and_nothing_acknowledged_is_missing(self):
        self.assertEqual(self.report.violations, [], self.report.explain())

    def test_nothing_was_refused(self):
        self.assertEqual(self.load.outcomes()[FAIL], 0,
                         f"operations were refused: {self.load.errors.most_common(5)}")

    def test_clients_stopped(self):
        self.assertEqual(self.stuck, [])

    def test_sql_clients_followed_the_failover(self):
        self.assertGreater(self.load.outcomes("sql", since_ns=self.promoted_at)[OK], 100)
        self.assertGreater(self.load.outcomes("sql")[OK], 1000)

    def test_new_primary_is_the_old_standby(self):
        self.assertEqual(self.standby.psql("SELECT pg_is_in_recovery()"), "f")
        self.assertFalse(self.primary.running())

    @unittest.skipUnless(shim_available(), "build/gencontrol-http is not built: the load ran through SQL only")
    def test_shim_followed_the_failover_without_restart(self):
        self.assertTrue(self.shim.alive())
        self.assertEqual(self.shim.proc.pid, self.shim_pid)
        self.assertGreater(self.load.outcomes("http", since_ns=self.promoted_at)[OK], 10,
                           f"{self.load.errors.most_common(5)}\n{self.shim.log_tail()}")
        self.assertEqual(self.shim.request("GET", "/ready").status, 200)


class CancelledSynchronousWaitTest(unittest.TestCase):
    """A query cancel (pg_cancel_backend, or a client driver's cancel on its own timeout)
    that arrives while a generation commit waits for the synchronous standby. PostgreSQL
    then ends the wait with a WARNING and reports success: the client holds a generation
    that the standby may never receive, and a failover hands it out again.

    Known gap (see the report of issue 4): gencontrol 1.0 does not close it, so the test is
    an expected failure until the extension keeps waiting, or turns the cancel into an error
    the client cannot mistake for success. statement_timeout does not trigger it (PostgreSQL
    disarms it before the commit), and the HTTP shim never sends cancels."""

    TENANT = "072f1291a5310026820b2fe4b2968934-0102"

    @classmethod
    def setUpClass(cls):
        cls.primary = fresh_cluster("it-guarantees-cancel-a", CANCEL_PRIMARY_PORT,
                                    {"synchronous_commit": "on"})
        cls.addClassCleanup(cls.primary.stop, "immediate")
        cls.standby = Cluster("it-guarantees-cancel-b", CANCEL_STANDBY_PORT)
        cls.addClassCleanup(cls.standby.stop_if_running)
        make_synchronous_standby(cls.primary, cls.standby)

    def test_a_cancelled_wait_does_not_acknowledge_an_unreplicated_generation(self):
        primary, standby = self.primary, self.standby
        primary.psql("SELECT gencontrol.node_register(1, 'h', 1, 'h', 2)", dbname=DATABASE)
        primary.psql(f"SELECT gencontrol.gen_attach('{self.TENANT}', 1)", dbname=DATABASE)
        standby.stop()  # the synchronous standby goes away: generation commits now wait

        conn = psycopg2.connect(primary.conninfo(DATABASE))
        conn.autocommit = True
        self.addCleanup(conn.close)
        pid = conn.get_backend_pid()
        outcome = {}

        def attach():
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT gencontrol.gen_attach(%s, 1)", (self.TENANT,))
                    outcome["generation"] = cur.fetchone()[0]
            except psycopg2.Error as e:
                outcome["error"] = e.pgcode or repr(e)

        client = threading.Thread(target=attach, daemon=True)
        client.start()
        wait_for(lambda: primary.psql(f"SELECT wait_event FROM pg_stat_activity WHERE pid = {pid}")
                 == "SyncRep", 10, "the attach to wait for the standby")
        primary.psql(f"SELECT pg_cancel_backend({pid})")
        client.join(3)
        if client.is_alive():
            # The extension kept waiting: let the standby catch up, so the attach completes
            # replicated, as it should.
            standby.start()
            client.join(30)
        primary.kill9()
        if not standby.running():
            standby.start()
        standby.promote()
        if "generation" in outcome:
            stored = int(standby.psql(f"SELECT generation FROM gencontrol.gen_inspect('{self.TENANT}')",
                                      dbname=DATABASE))
            self.assertGreaterEqual(stored, outcome["generation"],
                                    f"generation {outcome['generation']} was acknowledged after a "
                                    f"cancelled synchronous wait and is missing after the failover "
                                    f"(notices: {[n.strip() for n in conn.notices]})")


if __name__ == "__main__":
    unittest.main()

"""gen_validate's read barrier (docs/design.md invariant 3, across a failover), without any network:
a primary with a synchronous standby; the standby is promoted while the old primary keeps
running; the new primary attaches the shard again; the old primary is asked to validate the
generation it still holds. With the barrier it answers nothing (statement_timeout or a cancel
ends the wait with 57014); the control with gencontrol.validate_read_barrier = off answers
true, the stale answer the barrier prevents. PostgreSQL's "committed locally" warning on a
cancelled wait never reaches the client; its control is a cancelled commit, whose warning the
same check sees. Also: what the barrier writes (one WAL record per call with a standby, none
without), that it waits whatever synchronous_commit the session set, and that only a superuser
may turn it off."""
import json
import os
import sys
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(HERE), "guarantees"), os.path.dirname(HERE)]

import psycopg2  # noqa: E402

from harness import DATABASE, fresh_cluster  # noqa: E402
from pgcluster import Cluster  # noqa: E402
from replication import add_synchronous_standby, wait_for  # noqa: E402

PRIMARY_PORT, STANDBY_PORT = 15550, 15551
TENANT = "072f1291a5310026820b2fe4b2968934-0102"
OTHER = "072f1291a5310026820b2fe4b2968934"

# synchronous_commit = off server-wide: the barrier must wait for the standby regardless.
CONF = {"synchronous_commit": "off"}


def connect(cluster, **settings):
    conn = psycopg2.connect(cluster.conninfo(DATABASE))
    conn.autocommit = True
    with conn.cursor() as cur:
        for key, value in settings.items():
            cur.execute(f"SET {key} = %s", (value,))
    return conn


def query(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


def sqlstate_of(conn, sql, args=None):
    """The SQLSTATE sql fails with, or ('answered', rows)."""
    try:
        return ("answered", query(conn, sql, args))
    except psycopg2.Error as e:
        return e.pgcode


def wal_records(conn, sql, args=None):
    """WAL records the statement's plan wrote, from EXPLAIN (ANALYZE, WAL): this backend only."""
    plan = query(conn, "EXPLAIN (ANALYZE, WAL, FORMAT JSON) " + sql, args)[0][0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]["WAL Records"]


SINGLE = "SELECT gencontrol.gen_validate(%s, %s)"
BATCH = "SELECT * FROM gencontrol.gen_validate(%s::gencontrol.tenant_shard_id[], %s::integer[])"


class ReadBarrierTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.primary = fresh_cluster("it-partition-barrier-a", PRIMARY_PORT, CONF)
        cls.addClassCleanup(cls.primary.stop, "immediate")
        cls.standby = Cluster("it-partition-barrier-b", STANDBY_PORT)
        cls.addClassCleanup(cls.standby.stop_if_running)
        add_synchronous_standby(cls.primary, cls.standby, CONF)
        cls.primary.psql("SELECT gencontrol.node_register(1, 'h', 1, 'h', 2), "
                         "gencontrol.node_register(2, 'h', 3, 'h', 4)", dbname=DATABASE)
        cls.superseded = int(cls.primary.psql(f"SELECT gencontrol.gen_attach('{TENANT}', 1)",
                                              dbname=DATABASE))
        cls.primary.psql(f"SELECT gencontrol.gen_attach('{OTHER}', 1)", dbname=DATABASE)

    # --- with a healthy synchronous standby (these run first: names sort before test_stale) ---
    def test_a_answers_with_a_standby_whatever_synchronous_commit(self):
        for level in ("off", "local", "remote_write", "on", "remote_apply"):
            conn = connect(self.primary, synchronous_commit=level)
            self.addCleanup(conn.close)
            self.assertEqual(query(conn, SINGLE, (TENANT, self.superseded)), [(True,)], level)
            self.assertEqual(query(conn, BATCH, ([TENANT, OTHER], [self.superseded, 99])),
                             [(TENANT, True), (OTHER, False)], level)
            self.assertEqual(query(conn, "SHOW synchronous_commit"), [(level,)],
                             "the barrier put the session's synchronous_commit back")

    def test_a_answers_inside_a_read_only_transaction(self):
        # The barrier's record needs no transaction id, so a read-only caller is no obstacle.
        conn = connect(self.primary)
        self.addCleanup(conn.close)
        for isolation in ("READ COMMITTED", "SERIALIZABLE"):
            query(conn, f"BEGIN ISOLATION LEVEL {isolation} READ ONLY")
            self.assertEqual(query(conn, SINGLE, (TENANT, self.superseded)), [(True,)])
            self.assertEqual(query(conn, "SELECT txid_current_if_assigned()"), [(None,)])
            query(conn, "COMMIT")

    def test_b_one_wal_record_per_call_with_a_standby(self):
        conn = connect(self.primary, synchronous_commit="off")
        self.addCleanup(conn.close)
        self.assertEqual(wal_records(conn, SINGLE, (TENANT, 1)), 1)
        self.assertEqual(wal_records(conn, BATCH, ([TENANT, OTHER], [1, 1])), 1)
        query(conn, "SET gencontrol.validate_read_barrier = off")
        self.assertEqual(wal_records(conn, SINGLE, (TENANT, 1)), 0)
        self.assertEqual(wal_records(conn, BATCH, ([TENANT, OTHER], [1, 1])), 0)

    def test_c_only_a_superuser_turns_it_off(self):
        self.primary.psql("DROP ROLE IF EXISTS barrier_pageserver; "
                          "CREATE ROLE barrier_pageserver IN ROLE gencontrol_pageserver")
        # Once the library is loaded, the setting refuses a non-superuser.
        conn = connect(self.primary)
        self.addCleanup(conn.close)
        query(conn, "LOAD 'gencontrol'")
        self.assertEqual(query(conn, "SHOW gencontrol.validate_read_barrier"), [("on",)])
        query(conn, "SET ROLE barrier_pageserver")
        self.assertEqual(sqlstate_of(conn, "SET gencontrol.validate_read_barrier = off"), "42501")
        self.assertEqual(query(conn, "SHOW gencontrol.validate_read_barrier"), [("on",)])
        # Set before the library is loaded, it is a placeholder that loading discards.
        conn = connect(self.primary)
        self.addCleanup(conn.close)
        query(conn, "SET ROLE barrier_pageserver")
        query(conn, "SET gencontrol.validate_read_barrier = off")
        self.assertEqual(query(conn, SINGLE, (TENANT, self.superseded)), [(True,)])
        self.assertEqual(query(conn, "SHOW gencontrol.validate_read_barrier"), [("on",)])

    # --- the hazard: the standby promoted while this primary keeps running ---
    def cancel_in_sync_wait(self, primary, conn, call, what):
        """Runs `call` on a thread, waits until `conn`'s backend waits for the synchronous
        standby (the cut-off primary's standby never answers), then cancels that wait."""
        pid = conn.get_backend_pid()
        client = threading.Thread(target=call, daemon=True)
        client.start()
        wait_for(lambda: primary.psql(f"SELECT wait_event FROM pg_stat_activity WHERE pid = {pid}")
                 == "SyncRep", 10, f"{what} to wait for the standby")
        primary.psql(f"SELECT pg_cancel_backend({pid})")
        client.join(10)
        self.assertFalse(client.is_alive())

    def test_stale_primary(self):
        primary, standby = self.primary, self.standby
        standby.promote()
        wait_for(lambda: standby.psql("SELECT pg_is_in_recovery()") == "f", 30, "the promotion")
        newer = int(standby.psql(f"SELECT gencontrol.gen_attach('{TENANT}', 2)", dbname=DATABASE))
        self.assertGreater(newer, self.superseded)
        # The old primary still holds the superseded generation: it would answer from it.
        self.assertEqual(primary.psql(f"SELECT generation FROM gencontrol.gen_inspect('{TENANT}')",
                                      dbname=DATABASE), str(self.superseded))

        with self.subTest("statement_timeout ends the barrier's wait: 57014, no answer"):
            conn = connect(primary, statement_timeout="500ms", synchronous_commit="off")
            self.addCleanup(conn.close)
            self.assertEqual(sqlstate_of(conn, SINGLE, (TENANT, self.superseded)), "57014")
            self.assertEqual(sqlstate_of(conn, BATCH, ([TENANT], [self.superseded])), "57014")
            # PostgreSQL's warning that a transaction "committed locally" would mislead here: the
            # validate committed nothing. It stays in the server log, not in front of the client.
            self.assertEqual([n for n in conn.notices if "synchronous replication" in n], [])

        with self.subTest("nor when the server logs only errors (no log line to hide it in)"):
            conn = connect(primary, statement_timeout="500ms", synchronous_commit="off",
                           log_min_messages="error")
            self.addCleanup(conn.close)
            self.assertEqual(sqlstate_of(conn, SINGLE, (TENANT, self.superseded)), "57014")
            self.assertEqual([n for n in conn.notices if "synchronous replication" in n], [])
            self.assertEqual(query(conn, "SHOW client_min_messages"), [("notice",)])

        with self.subTest("a query cancel ends the wait: 57014, no answer"):
            conn = connect(primary)
            self.addCleanup(conn.close)
            outcome = {}
            self.cancel_in_sync_wait(primary, conn, lambda: outcome.update(
                r=sqlstate_of(conn, SINGLE, (TENANT, self.superseded))), "the validate")
            self.assertEqual(outcome.get("r"), "57014")

        with self.subTest("control: a commit's cancelled wait sends the warning, and the check above sees it"):
            # The barrier's own warning cannot be let through (validate_read_barrier = off skips
            # the wait, and there is no switch for client_min_messages alone), so the control is
            # PostgreSQL's warning where it is true: a commit that wrote WAL waiting for the
            # standby, cancelled, with the settings the subtests above used. Had the barrier let
            # it through, the checks above would have seen these notices: by hand (2026-12-01),
            # read_barrier.cpp without its client_min_messages line failed both subtests above
            # with this very warning ("canceling wait for synchronous replication ...").
            conn = connect(primary, log_min_messages="error")  # synchronous_commit off: no wait
            self.addCleanup(conn.close)
            query(conn, "CREATE TABLE barrier_control (x int)")
            query(conn, "SET synchronous_commit = on")
            self.cancel_in_sync_wait(primary, conn, lambda: query(conn, "INSERT INTO barrier_control VALUES (1)"),
                                     "the commit")
            leaked = [n for n in conn.notices if "synchronous replication" in n]
            self.assertEqual(len(leaked), 1, conn.notices)
            self.assertIn("committed locally", leaked[0])

        with self.subTest("control: barrier off, the old primary answers true for a superseded generation"):
            conn = connect(primary, statement_timeout="5s")
            self.addCleanup(conn.close)
            query(conn, "SET gencontrol.validate_read_barrier = off")
            self.assertEqual(query(conn, SINGLE, (TENANT, self.superseded)), [(True,)])
            self.assertEqual(query(conn, BATCH, ([TENANT], [self.superseded])), [(TENANT, True)])

        with self.subTest("the new primary has no synchronous standby: the barrier writes nothing"):
            conn = connect(standby)
            self.addCleanup(conn.close)
            self.assertEqual(query(conn, SINGLE, (TENANT, newer)), [(True,)])
            self.assertEqual(wal_records(conn, SINGLE, (TENANT, newer)), 0)
            self.assertEqual(wal_records(conn, BATCH, ([TENANT], [newer])), 0)


if __name__ == "__main__":
    unittest.main()

"""Invariant 4: on a hot standby, gen_validate and every writer refuse with SQLSTATE 25006 and
a message that says why; gen_inspect still answers there."""
import time

import psycopg2

from harness import Cluster, ClusterTestCase, connect

TENANT = "0a000000000000000000000000000001"


class HotStandbyTest(ClusterTestCase):
    PORT = 15442
    STANDBY_PORT = 15443

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.psql("SELECT gencontrol.node_register(1, 'ps1', 9898, 'ps1', 6400)", dbname="gencontrol_it")
        cls.cluster.psql(f"SELECT gencontrol.gen_attach('{TENANT}', 1)", dbname="gencontrol_it")
        cls.standby = Cluster("it-hotstandby-replica", cls.STANDBY_PORT).init(replica_of=cls.cluster)
        cls.standby.append_conf({"port": cls.STANDBY_PORT})
        cls.standby.start()
        cls.addClassCleanup(cls.standby.remove)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cls.standby.psql("SELECT count(*) FROM gencontrol.tenant_shards", dbname="gencontrol_it", check=False) == "1":
                break
            time.sleep(0.1)

    def standby_cursor(self):
        conn = connect(self.standby)
        self.addCleanup(conn.close)
        cur = conn.cursor()
        cur.execute("SELECT pg_is_in_recovery()")
        self.assertTrue(cur.fetchone()[0], "the replica is a hot standby")
        cur.execute("SET search_path = gencontrol, public")
        return cur

    def assert_refused(self, sql, operation):
        cur = self.standby_cursor()
        with self.assertRaises(psycopg2.Error) as raised:
            cur.execute(sql)
        self.assertEqual(raised.exception.pgcode, "25006", sql)
        self.assertIn(operation, raised.exception.pgerror)
        self.assertIn("hot standby", raised.exception.pgerror)

    def test_validate_refused(self):
        self.assert_refused(f"SELECT gen_validate('{TENANT}', 1)", "gen_validate")

    def test_batch_validate_refused(self):
        self.assert_refused(f"SELECT * FROM gen_validate(ARRAY['{TENANT}']::tenant_shard_id[], ARRAY[1])", "gen_validate")

    def test_writers_refused(self):
        for sql, operation in [
            (f"SELECT gen_attach('{TENANT}', 1)", "gen_attach"),
            (f"SELECT gen_detach('{TENANT}')", "gen_detach"),
            ("SELECT * FROM gen_re_attach(1)", "gen_re_attach"),
            ("SELECT gen_advance_all(10)", "gen_advance_all"),
            ("SELECT node_register(2, 'ps2', 9898, 'ps2', 6400)", "node_register"),
            ("SELECT node_set_status(1, 'paused')", "node_set_status"),
            ("SELECT node_delete(1)", "node_delete"),
            (f"SELECT tenant_set_secondaries('{TENANT}', ARRAY[1::bigint])", "tenant_set_secondaries"),
            (f"SELECT tenant_delete('{TENANT}')", "tenant_delete"),
            ("SELECT node_update(1, 'ps1', 9898, 'ps1', 6400)", "node_update"),
            ("SELECT node_bind_role(1, NULL)", "node_bind_role"),
            (f"SELECT * FROM tenant_shard_split('{TENANT[:32]}', 2)", "tenant_shard_split"),
            (f"SELECT timeline_import_create('{TENANT[:32]}', '{'0' * 32}', 0)", "timeline_import_create"),
            (f"SELECT timeline_import_status('{TENANT}', '{'0' * 32}', 1)", "timeline_import_status"),
            (f"SELECT timeline_import_set_status('{TENANT}', '{'0' * 32}', 1, '\"Done\"')",
             "timeline_import_set_status"),
        ]:
            with self.subTest(operation=operation):
                self.assert_refused(sql, operation)

    def test_inspect_allowed(self):
        cur = self.standby_cursor()
        cur.execute(f"SELECT generation, node FROM gen_inspect('{TENANT}')")
        self.assertEqual(cur.fetchall(), [(1, 1)])

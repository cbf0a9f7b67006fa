"""pg_dump of a database that uses gencontrol restores into a fresh one with every tenant,
node, secondary, log entry and generation intact, and the restored copy keeps working."""
import os
import subprocess
import tempfile

from harness import ClusterTestCase, PG_BIN_DIR, connect

TENANTS = 500


class PgDumpTest(ClusterTestCase):
    PORT = 15441

    def test_dump_and_restore_keeps_everything(self):
        conn = self.connect()
        cur = conn.cursor()
        cur.execute("SET search_path = gencontrol, public")
        for node in (1, 2, 3):
            cur.execute("SELECT node_register(%s, %s, 9898, %s, 6400, 'az')", (node, f"ps{node}", f"ps{node}"))
        cur.execute("""SELECT count(gen_attach(lpad(to_hex(i), 32, '0')::tenant_shard_id, 1 + i %% 2, i))
                         FROM generate_series(1, %s) i""", (TENANTS,))
        cur.execute("SELECT count(*) FROM gen_re_attach(1)")
        cur.execute("SELECT tenant_set_secondaries(lpad(to_hex(2), 32, '0')::tenant_shard_id, ARRAY[3::bigint])")
        cur.execute("SELECT tenant_delete(lpad(to_hex(4), 32, '0')::tenant_shard_id)")
        cur.execute("SELECT node_set_status(2, 'draining')")
        cur.execute("SELECT node_register(4, 'ps4', 9898, 'ps4', 6400, 'az', 9899, 'ps4', 51051, '198.18.0.4')")
        cur.execute("SELECT timeline_import_create(lpad(to_hex(5), 32, '0'), repeat('ab', 16), 0)")
        cur.execute("""SELECT timeline_import_set_status(lpad(to_hex(5), 32, '0')::tenant_shard_id, repeat('ab', 16),
                                                        (SELECT generation FROM tenant_shards
                                                          WHERE id = lpad(to_hex(5), 32, '0')::tenant_shard_id),
                                                        '"Done"')""")
        snapshot = self.snapshot(cur)

        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o777)
            dump = os.path.join(tmp, "gencontrol.dump")
            subprocess.run([f"{PG_BIN_DIR}/pg_dump", "-Fc", "-f", dump, self.cluster.conninfo("gencontrol_it")],
                           check=True)
            self.cluster.psql("DROP DATABASE IF EXISTS restored")
            self.cluster.psql("CREATE DATABASE restored")
            subprocess.run([f"{PG_BIN_DIR}/pg_restore", "--exit-on-error", "-d", self.cluster.conninfo("restored"), dump],
                           check=True)

        restored = connect(self.cluster, dbname="restored")
        self.addCleanup(restored.close)
        rcur = restored.cursor()
        rcur.execute("SET search_path = gencontrol, public")
        self.assertEqual(self.snapshot(rcur), snapshot)

        # The restored copy works: generations continue above the restored ones, the guard holds.
        rcur.execute("SELECT generation FROM tenant_shards WHERE id = lpad(to_hex(3), 32, '0')::tenant_shard_id")
        before = rcur.fetchone()[0]
        rcur.execute("SELECT gen_attach(lpad(to_hex(3), 32, '0')::tenant_shard_id, 3)")
        self.assertEqual(rcur.fetchone()[0], before + 1)
        tombstone = next(row for row in snapshot["tenant_shards"] if row[0] == "%032x" % 4)
        self.assertTrue(tombstone[4], "shard 4 was deleted before the dump")
        rcur.execute("SELECT gen_attach(lpad(to_hex(4), 32, '0')::tenant_shard_id, 3)")
        self.assertEqual(rcur.fetchone()[0], tombstone[1] + 1, "a deleted shard's tombstone survived the restore")
        with self.assertRaises(Exception) as raised:
            rcur.execute("UPDATE tenant_shards SET generation = 1")
        self.assertEqual(raised.exception.pgcode, "23514")

    @staticmethod
    def snapshot(cur):
        tables = {
            "nodes": "SELECT node_id, status, listen_http_addr, listen_http_port, availability_zone, listen_https_port, "
                     "listen_grpc_addr, listen_grpc_port, host(node_ip_addr), owner_role FROM nodes ORDER BY 1",
            "timeline_import_shards": "SELECT tenant_shard::text, timeline, status::text FROM timeline_import_shards "
                                      "ORDER BY 1, 2",
            "tenant_shards": "SELECT id::text, generation, attached_node, stripe_size, deleted_at IS NOT NULL "
                             "FROM tenant_shards ORDER BY id",
            "secondary_locations": "SELECT tenant::text, node FROM secondary_locations ORDER BY 1, 2",
            "generation_log": "SELECT log_id, tenant::text, old_generation, new_generation, node, operation "
                              "FROM generation_log ORDER BY log_id, tenant",
        }
        result = {}
        for name, query in tables.items():
            cur.execute(query)
            result[name] = cur.fetchall()
        assert len(result["tenant_shards"]) == TENANTS
        return result

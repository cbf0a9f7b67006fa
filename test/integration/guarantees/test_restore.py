"""gen_advance_all after a restore from backup: a real base backup (pg_basebackup) is taken,
more generations are issued, the backup is restored into a fresh cluster, which then holds
generations lower than ones already handed out (and would hand them out again);
gen_advance_all(margin) lifts every stored generation above every issued one."""
import os
import random
import shutil
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

import psycopg2  # noqa: E402

from harness import DATABASE, fresh_cluster  # noqa: E402
from load import make_tenants  # noqa: E402
from pgcluster import BASE, Cluster  # noqa: E402

ORIGINAL_PORT, RESTORED_PORT = 15530, 15531
NODES = (1, 2, 3)


def connect(cluster):
    conn = psycopg2.connect(cluster.conninfo(DATABASE))
    conn.autocommit = True
    return conn


class RestoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.original = fresh_cluster("it-guarantees-restore-a", ORIGINAL_PORT)
        cls.addClassCleanup(cls.original.stop, "immediate")
        cls.backup_dir = os.path.join(BASE, "it-guarantees-restore-backup")
        cls.addClassCleanup(shutil.rmtree, cls.backup_dir, True)
        cls.restored = Cluster("it-guarantees-restore-b", RESTORED_PORT)
        cls.addClassCleanup(cls.restored.stop_if_running)
        cls.tenants = make_tenants(60, seed=99)
        cls.issued = {}  # tenant -> highest generation the original ever acknowledged
        rng = random.Random(3)

        conn = connect(cls.original)
        cur = conn.cursor()
        for node in NODES:
            cur.execute("SELECT gencontrol.node_register(%s, 'localhost', 9898, 'localhost', 6400)", (node,))
        cls.attach(cur, cls.tenants, rng)

        cls.original.base_backup(cls.backup_dir)

        # After the backup: more attaches on half the shards, and a re-attach of one node.
        cls.changed_after_backup = set(cls.tenants[::2])
        for _ in range(3):
            cls.attach(cur, sorted(cls.changed_after_backup), rng)
        cur.execute("SELECT tenant::text, generation FROM gencontrol.gen_re_attach(1) "
                    "WHERE mode = 'AttachedSingle'")
        for tenant, generation in cur.fetchall():
            cls.issued[tenant] = generation
            cls.changed_after_backup.add(tenant)
        conn.close()
        cls.original.stop()

        cls.restored.restore(cls.backup_dir).start()

    @classmethod
    def attach(cls, cur, tenants, rng):
        for tenant in tenants:
            cur.execute("SELECT gencontrol.gen_attach(%s, %s)", (tenant, rng.choice(NODES)))
            cls.issued[tenant] = cur.fetchone()[0]

    def stored(self):
        conn = connect(self.restored)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT id::text, generation FROM gencontrol.tenant_shards")
                return dict(cur.fetchall())
        finally:
            conn.close()

    def test_advance_all_lifts_every_generation_above_every_issued_one(self):
        before = self.stored()
        self.assertEqual(set(before), set(self.tenants))
        behind = {t for t in self.tenants if before[t] < self.issued[t]}
        self.assertEqual(behind, self.changed_after_backup,
                         "the restored database should hold lower generations for exactly the shards "
                         "changed after the backup")
        for tenant in self.tenants:
            self.assertLessEqual(before[tenant], self.issued[tenant])

        conn = connect(self.restored)
        self.addCleanup(conn.close)
        cur = conn.cursor()
        # The danger, shown inside a transaction that is rolled back: the restored database
        # would hand out a generation that was already issued.
        tenant = sorted(behind)[0]
        cur.execute("BEGIN")
        cur.execute("SELECT gencontrol.gen_attach(%s, 1)", (tenant,))
        self.assertLessEqual(cur.fetchone()[0], self.issued[tenant])
        cur.execute("ROLLBACK")

        # The margin: more than any shard could have been advanced since the backup. Here at
        # most 4 per shard were; docs/ha.md explains how to bound it in production.
        margin = 1000
        cur.execute("SELECT gencontrol.gen_advance_all(%s)", (margin,))
        self.assertEqual(cur.fetchone()[0], len(self.tenants))
        after = self.stored()
        for tenant in self.tenants:
            self.assertEqual(after[tenant], before[tenant] + margin)
            self.assertGreater(after[tenant], self.issued[tenant])
        cur.execute("SELECT count(*) FROM gencontrol.generation_log WHERE operation = 'advance_all'")
        self.assertEqual(cur.fetchone()[0], len(self.tenants))

        # Every generation handed out before the restore is now stale, and new ones are higher.
        cur.execute("SELECT count(*), count(*) FILTER (WHERE v.valid) FROM gencontrol.gen_validate("
                    "%s::gencontrol.tenant_shard_id[], %s::integer[]) v",
                    (list(self.issued), list(self.issued.values())))
        self.assertEqual(cur.fetchone(), (len(self.tenants), 0))
        cur.execute("SELECT tenant::text, generation FROM gencontrol.gen_re_attach(2) "
                    "WHERE mode = 'AttachedSingle'")
        for tenant, generation in cur.fetchall():
            self.assertGreater(generation, self.issued[tenant])
        print(f"\nguarantees: restore: {len(self.tenants)} shards, {len(behind)} behind the issued "
              f"generation after the restore, gen_advance_all({margin}) changed {len(after)}; "
              f"afterwards every issued generation is below the stored one", flush=True)


if __name__ == "__main__":
    unittest.main()

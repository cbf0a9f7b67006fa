"""Invariant 5: concurrent attaches on one shard serialize (each gets its own generation), and
multi-row operations (re-attach, gen_advance_all) racing each other and single attaches never
deadlock, because every one of them locks rows in primary-key order."""
import threading
import time

import psycopg2

from harness import ClusterTestCase, connect

NODES = (1, 2, 3)
SHARDS = ["%032x" % (0xa000 + i) for i in range(64)]
SECONDS = 6


class LockOrderTest(ClusterTestCase):
    PORT = 15444
    CONF = {"deadlock_timeout": "100ms", "max_connections": 100}

    def setUp(self):
        cur = self.connect().cursor()
        cur.execute("SET search_path = gencontrol, public")
        for node in NODES:
            cur.execute("SELECT node_register(%s, 'ps', 9898, 'ps', 6400)", (node,))
        for i, shard in enumerate(SHARDS):
            cur.execute("SELECT gen_attach(%s, %s)", (shard, NODES[i % len(NODES)]))

    def run_workers(self, workers):
        errors, counts = [], {}
        stop = time.monotonic() + SECONDS

        def loop(name, body):
            conn = connect(self.cluster)
            cur = conn.cursor()
            cur.execute("SET search_path = gencontrol, public")
            n = 0
            try:
                while time.monotonic() < stop:
                    body(cur, n)
                    n += 1
            except psycopg2.Error as error:
                errors.append((name, error.pgcode, str(error).strip()))
            finally:
                counts[name] = n
                conn.close()

        threads = [threading.Thread(target=loop, args=(name, body)) for name, body in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors, counts

    def test_no_deadlock_between_multi_row_operations(self):
        def re_attach(node):
            return lambda cur, n: cur.execute("SELECT count(*) FROM gen_re_attach(%s)", (node,))

        def attach(offset):
            # Moves shards between nodes in descending key order, the opposite of re-attach's.
            return lambda cur, n: cur.execute(
                "SELECT gen_attach(%s, %s)", (SHARDS[-1 - (n * 7 + offset) % len(SHARDS)], NODES[(n + offset) % 3]))

        def advance(cur, n):
            time.sleep(0.2)
            cur.execute("SELECT gen_advance_all(1)")

        workers = [(f"re_attach-{node}-{k}", re_attach(node)) for node in NODES for k in range(2)]
        workers += [(f"attach-{k}", attach(k)) for k in range(8)]
        workers += [("advance_all", advance)]
        errors, counts = self.run_workers(workers)
        self.assertEqual(errors, [], "no worker failed (40P01 would be a deadlock)")
        for name, count in counts.items():
            self.assertGreater(count, 0, f"{name} made progress")

        # Every bump is in the log, and the log is gap-free per shard: no generation was skipped
        # or handed out twice by the racing operations.
        cur = self.connect().cursor()
        cur.execute("""SELECT count(*) FROM (
                         SELECT new_generation, lag(new_generation) OVER (PARTITION BY tenant ORDER BY log_id) AS prev,
                                operation
                           FROM gencontrol.generation_log) l
                        WHERE prev IS NOT NULL AND new_generation <= prev""")
        self.assertEqual(cur.fetchone()[0], 0, "generations only grew, in commit order")

    def test_concurrent_attaches_of_one_shard_serialize(self):
        shard = "%032x" % 0xbeef
        results = []

        def attach(cur, n):
            cur.execute("SELECT gen_attach(%s, %s)", (shard, NODES[n % 3]))
            results.append(cur.fetchone()[0])

        errors, _ = self.run_workers([(f"attach-{k}", attach) for k in range(12)])
        self.assertEqual(errors, [])
        self.assertEqual(len(results), len(set(results)), "no generation was issued twice")
        self.assertEqual(sorted(results), list(range(1, len(results) + 1)), "no generation was skipped")

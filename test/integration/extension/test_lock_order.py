"""Invariant 5: concurrent attaches on one shard serialize (each gets its own generation), and
multi-row operations (re-attach, gen_advance_all) racing each other and single attaches never
deadlock, because every one of them locks rows in primary-key order. And no writer waits for a
node lock while holding a shard's row (src/extension/shard_lock.hpp): the wait-for graph, soft
edges included, never has a cycle, which PostgreSQL would only break after deadlock_timeout."""
import threading
import time

import psycopg2

from harness import ClusterTestCase, connect

NODES = (1, 2, 3)
# Sessions of the wait-cycle tests: PostgreSQL's deadlock check (which also untangles "soft"
# cycles through lock requests queued behind a waiting one) would run only after this long, so a
# cycle stays in place for the test to see.
NO_DEADLOCK_CHECK = "SET deadlock_timeout = '10min'"
SHARDS = ["%032x" % (0xa000 + i) for i in range(64)]
SECONDS = 6


class LockOrderTest(ClusterTestCase):
    PORT = 15444
    CONF = {"deadlock_timeout": "100ms", "max_connections": 100}
    SESSION_SETUP = ClusterTestCase.SESSION_SETUP + (NO_DEADLOCK_CHECK,)

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

    # --- wait cycles ------------------------------------------------------------------------
    def cycle_or_done(self, threads, pids):
        """Polls pg_blocking_pids (hard and soft blockers) until every thread is done, or until a
        cycle among `pids` is seen in five polls in a row; returns that cycle, or None."""
        monitor = self.connect().cursor()
        seen_in_a_row, deadline = 0, time.monotonic() + 120
        while any(t.is_alive() for t in threads):
            monitor.execute("SELECT p, pg_blocking_pids(p) FROM unnest(%s::int[]) AS p", (list(pids),))
            graph = {pid: [b for b in blockers if b in pids] for pid, blockers in monitor.fetchall()}
            cycle = find_cycle(graph)
            seen_in_a_row = seen_in_a_row + 1 if cycle else 0
            if seen_in_a_row >= 5:
                return cycle
            if time.monotonic() > deadline:
                self.fail(f"sessions neither finished nor waited in a cycle: {graph}")
            time.sleep(0.1)
        return None

    def cancel(self, pids):
        self.connect().cursor().execute("SELECT pg_cancel_backend(p) FROM unnest(%s::int[]) AS p", (list(pids),))

    def play_shard_moving_under(self, shard, b_sql):
        """The shape that collapsed the per-node epoch model under load: B (running `b_sql` on the
        shard) locks the shard's row after it moved to a node B has not locked, while T (attaching
        it to that node) holds that node's lock and waits for the row, and a re-attach of that
        node waits for T. Had B waited for the node's lock holding the row, its request would
        queue behind the re-attach's: B -> re-attach -> T -> B, for deadlock_timeout. Returns the
        mover's generation and B's and T's outcomes."""
        admin = self.connect().cursor()
        admin.execute("SET search_path = gencontrol, public")
        admin.execute("SELECT node_register(4, 'ps', 9898, 'ps', 6400)")
        admin.execute("SELECT gen_attach(%s, 1)", (shard,))

        mover, mover_cur, _ = self.session(autocommit=False)
        mover_cur.execute("SELECT gen_attach(%s, 2)", (shard,))  # holds nodes 1, 2 and the row
        moved_to = mover_cur.fetchone()[0]

        _, b_cur, b = self.session()
        b_thread, b_out = self.in_thread(b_cur, b_sql, (shard,))
        self.lock_wait(b)  # node 1 (and 3) locked; waits for the row
        _, t_cur, t = self.session()
        t_thread, t_out = self.in_thread(t_cur, "SELECT gen_attach(%s, 2)", (shard,))
        self.lock_wait(t)  # nodes 1 and 2 locked; waits for the row after B
        _, r_cur, r = self.session()
        r_thread, r_out = self.in_thread(r_cur, "SELECT count(*) FROM gen_re_attach(2)")
        self.lock_wait(r)  # node 2 exclusively: waits for the mover and T

        mover.commit()  # B gets the row: the shard is on node 2 now
        threads, pids = [b_thread, t_thread, r_thread], {b, t, r}
        cycle = self.cycle_or_done(threads, pids)
        if cycle:
            self.cancel(pids)
        self.assertIsNone(cycle, f"sessions waited in a cycle (B {b}, T {t}, re-attach {r})")

        for name, out in (("B", b_out), ("T", t_out), ("re-attach", r_out)):
            self.assertNotIn("error", out, f"{name} failed")
        return moved_to, b_out, t_out

    def test_no_wait_cycle_when_a_shard_moves_under_an_attach(self):
        shard = "%032x" % 0xc0de
        moved_to, b_out, t_out = self.play_shard_moving_under(shard, "SELECT gen_attach(%s, 3)")
        generations = [moved_to, b_out["rows"][0][0], t_out["rows"][0][0]]
        self.assertEqual(len(set(generations)), 3, f"no generation issued twice: {generations}")
        self.assertGreater(min(generations[1:]), moved_to, "both attaches came after the move")

    def test_no_wait_cycle_when_a_shard_moves_under_a_delete(self):
        """The same with tenant_delete as B: the PL/pgSQL writers lock through
        gencontrol.tenant_shard_lock(), the same code as gen_attach."""
        shard = "%032x" % 0xc0df
        _, _, t_out = self.play_shard_moving_under(shard, "SELECT gencontrol.tenant_delete(%s)")
        cur = self.connect().cursor()
        cur.execute("SET search_path = gencontrol, public")
        # After the mover, B, T and the re-attach of node 2 may run in any order: T's first try,
        # without a row lock, finds the row changed by the mover and gives node 2's lock back,
        # and B starts again when it finds the shard moved. Whichever order it was, the shard
        # keeps T's generation, or one more if the re-attach ran after T; it is deleted if B
        # came after T, and attached to node 2 if T came after B (an attach brings a deleted
        # shard back).
        t = t_out["rows"][0][0]
        cur.execute("SELECT generation, deleted_at IS NOT NULL, attached_node FROM tenant_shards WHERE id = %s",
                    (shard,))
        generation, deleted, node = cur.fetchone()
        self.assertIn(generation, (t, t + 1))
        self.assertEqual(node, None if deleted else 2)

    def test_an_attach_that_lost_the_row_keeps_only_the_locks_it_used(self):
        """gen_attach updates an existing shard without locking its row first (shard_lock.hpp,
        try_unlocked_shard). When another attach moves the shard between its probe and its
        update, the update finds the newer version, and the attach must give back the lock of
        the node it probed before it tries again: it ends holding the locks of the node the shard
        really left and of its target, and its generation follows the mover's. Control, by hand
        (2026-12-02): with the give-back commented out of try_unlocked_shard, this test fails
        with "[1, 2, 3] != [2, 3]"; the other five tests here still pass."""
        shard = "%032x" % 0xc0e0
        admin = self.connect().cursor()
        admin.execute("SET search_path = gencontrol, public")
        admin.execute("SELECT gen_attach(%s, 1)", (shard,))

        mover, mover_cur, _ = self.session(autocommit=False)
        mover_cur.execute("SELECT gen_attach(%s, 2)", (shard,))
        moved_to = mover_cur.fetchone()[0]

        b_conn, b_cur, b = self.session(autocommit=False)
        b_thread, b_out = self.in_thread(b_cur, "SELECT gen_attach(%s, 3)", (shard,))
        self.lock_wait(b)  # probed node 1, holds nodes 1 and 3, waits for the row
        admin.execute("SELECT array_agg(objid ORDER BY objid) FROM pg_locks "
                      "WHERE pid = %s AND locktype = 'object' AND classid = 'gencontrol.nodes'::regclass "
                      "AND granted", (b,))
        self.assertEqual(admin.fetchone()[0], [1, 3], "while waiting: the probed node and the target")
        mover.commit()
        b_thread.join(30)
        self.assertNotIn("error", b_out)
        self.assertEqual(b_out["rows"][0][0], moved_to + 1, "the attach counted from the mover's generation")
        admin.execute("SELECT array_agg(objid ORDER BY objid) FROM pg_locks "
                      "WHERE pid = %s AND locktype = 'object' AND classid = 'gencontrol.nodes'::regclass", (b,))
        self.assertEqual(admin.fetchone()[0], [2, 3], "node 1's lock was given back; nodes 2 and 3 are held")
        b_conn.commit()
        admin.execute("SELECT generation, attached_node FROM tenant_shards WHERE id = %s", (shard,))
        self.assertEqual(admin.fetchone(), (moved_to + 1, 3))

    def test_control_the_cycle_check_sees_a_soft_cycle(self):
        """Control for the tests above: the same shape built by hand (a row held while asking for a
        shared lock queued behind a waiting exclusive one) is seen as a cycle, so a pass above
        means there was none, not that the check cannot see one."""
        key = 4242
        holder, holder_cur, q = self.session(autocommit=False)
        holder_cur.execute("SELECT 1 FROM gencontrol.nodes WHERE node_id = 1 FOR UPDATE")  # Q holds the row
        _, p_cur, p = self.session()
        p_thread, _ = self.in_thread(p_cur, "DO $$ BEGIN PERFORM pg_advisory_xact_lock_shared(%s); "
                                            "PERFORM 1 FROM gencontrol.nodes WHERE node_id = 1 FOR UPDATE; END $$",
                                     (key,))
        self.lock_wait(p)  # P: shared lock held, waits for Q's row
        _, e_cur, e = self.session()
        e_thread, _ = self.in_thread(e_cur, "SELECT pg_advisory_xact_lock(%s)", (key,))
        self.lock_wait(e)  # E: exclusive, waits for P
        q_thread, _ = self.in_thread(holder_cur, "SELECT pg_advisory_xact_lock_shared(%s)", (key,))
        self.lock_wait(q)  # Q: holding the row, queued behind E

        pids = {p, e, q}
        cycle = self.cycle_or_done([p_thread, e_thread, q_thread], pids)
        self.cancel(pids)
        for thread in (p_thread, e_thread, q_thread):
            thread.join(30)
        holder.rollback()
        self.assertIsNotNone(cycle, "the hand-made soft cycle was seen")
        self.assertEqual(set(cycle), pids)


def find_cycle(graph):
    """A cycle in {node: [successors]} as a list of nodes, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for succ in graph.get(node, []):
            if state.get(succ) == "open":
                return path[path.index(succ):]
            if succ not in state:
                found = visit(succ, path)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in graph:
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None

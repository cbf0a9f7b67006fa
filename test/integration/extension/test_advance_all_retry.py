"""gen_advance_all's retry (src/extension/advance_all.cpp): it reads the node list, takes every
listed node's lock shared, then locks every shard row; a locked row on a node registered after
the list was read makes it roll back and lock again with the new list, so that it holds the lock
of every node whose shards it raises (a re-attach of that node cannot bump its epoch meanwhile).

The window is forced, not raced: a re-attach of node 2 in flight holds node 2's lock exclusively,
so gen_advance_all, having read the list (1, 2) and locked node 1, waits there (pg_locks says
so). Meanwhile node 3 is registered and a shard attached to it, committed; then the re-attach
commits. gen_advance_all must raise the new shard by the margin like every other shard and hold
node 3's lock until it commits: a re-attach of node 3 waits for it, then finds the shard at the
last generation and detaches it (the new shard was attached `MARGIN` below the last generation
for this).

Control, run by hand (2026-12-01, gaps branch at d49438c): advance_all.cpp with the re-check of
the node list removed (the attempt goes on after the row locks whatever the second node_ids()
returns), built and installed into the sandbox's PostgreSQL, then this test. The new shard was
still locked and raised (the row locks read with a fresh snapshot), but node 3's lock was not
held: the re-attach of node 3 did not wait, ran inside gen_advance_all's transaction, saw the
shard below the last generation, handed it out at 2147483643 and bumped node 3's epoch. After both
committed the stored base generation was 2147483647 with one epoch on top: reading the shard
(tenant_shards, gen_inspect) failed with 22003 "integer out of range" (invariant 1: generations
end at 2147483647, never past it), and this test failed there. With the re-check back it passes.
"""

import psycopg2

from harness import ClusterTestCase

LAST_GENERATION = 2**31 - 1
MARGIN = 5
ON_NODE = {1: "a1000000000000000000000000000001", 2: "a1000000000000000000000000000002"}
NEW_SHARD = "a1000000000000000000000000000003"  # attached to node 3 inside the window


class AdvanceAllRetryTest(ClusterTestCase):
    PORT = 15445

    def node_locks(self, pid):
        """{node: (mode, granted)} of the gencontrol node locks `pid` holds or waits for."""
        cur = self.connect().cursor()
        cur.execute("""SELECT objid, mode, granted FROM pg_locks
                        WHERE locktype = 'object' AND classid = 'gencontrol.nodes'::regclass AND pid = %s""",
                    (pid,))
        return {int(objid): (mode, granted) for objid, mode, granted in cur.fetchall()}

    def test_a_node_registered_while_advance_all_waits_is_locked_and_advanced(self):
        _, admin, _ = self.session()
        for node, shard in ON_NODE.items():
            admin.execute("SELECT node_register(%s, 'ps', 9898, 'ps', 6400)", (node,))
            admin.execute("SELECT gen_attach(%s, %s)", (shard, node))

        # A restart of node 2 in flight: node 2's lock, exclusively, until it commits.
        holder, holder_cur, holder_pid = self.session(autocommit=False)
        holder_cur.execute("SELECT count(*) FROM gen_re_attach(2)")

        advancer, advancer_cur, advancer_pid = self.session(autocommit=False)
        advance_thread, advanced = self.in_thread(advancer_cur, "SELECT gen_advance_all(%s)", (MARGIN,))
        self.assertEqual(self.lock_wait(advancer_pid, advance_thread), [holder_pid],
                         "gen_advance_all waits for the re-attach of node 2")
        self.assertEqual(self.node_locks(advancer_pid), {1: ("ShareLock", True), 2: ("ShareLock", False)},
                         "... having read the node list and locked node 1: the window is open")

        # Inside the window: a new node and a shard on it, committed.
        admin.execute("SELECT node_register(3, 'ps', 9898, 'ps', 6400)")
        admin.execute("SELECT gen_attach(%s, 3, %s)", (NEW_SHARD, LAST_GENERATION - MARGIN))
        admin.execute("SELECT id::text, generation FROM tenant_shards")
        before = dict(admin.fetchall())
        holder.commit()
        before[ON_NODE[2]] += 1  # the re-attach of node 2 committed before gen_advance_all locked the rows

        advance_thread.join(60)
        self.assertNotIn("error", advanced, "gen_advance_all completed (no 40P01 deadlock, no 40001)")
        self.assertEqual(advanced["rows"], [(3,)], "gen_advance_all changed three shards")
        new_node_lock = self.node_locks(advancer_pid).get(3)  # asserted last: the outcome matters first

        # A restart of node 3 now must wait: its epoch bump would land on top of the margin.
        _, re_attach_cur, re_attach_pid = self.session()
        re_attach_thread, re_attached = self.in_thread(
            re_attach_cur, "SELECT tenant::text, generation FROM gen_re_attach(3) WHERE mode = 'AttachedSingle'")
        waited_for = self.lock_wait(re_attach_pid, re_attach_thread)
        advancer.commit()
        re_attach_thread.join(60)
        self.assertNotIn("error", re_attached, "the re-attach of node 3 completed")

        try:
            admin.execute("SELECT id::text, generation, attached_node FROM tenant_shards")
            after = {shard: (generation, node) for shard, generation, node in admin.fetchall()}
        except psycopg2.Error as error:
            self.fail(f"the generations cannot be read after gen_advance_all and the re-attach: "
                      f"{error.pgcode} {str(error).strip()}")
        self.assertEqual(after, {ON_NODE[1]: (before[ON_NODE[1]] + MARGIN, 1),
                                 ON_NODE[2]: (before[ON_NODE[2]] + MARGIN, 2),
                                 NEW_SHARD: (LAST_GENERATION, None)},
                         "every shard, the new node's too, was raised by the margin; the re-attach after it "
                         "found the new shard at the last generation and detached it")
        self.assertEqual(before[NEW_SHARD] + MARGIN, LAST_GENERATION)
        self.assertEqual(re_attached["rows"], [], "... so it handed the new shard out to nobody")
        self.assertEqual(waited_for, [advancer_pid], "the re-attach of node 3 waited for gen_advance_all")
        self.assertEqual(new_node_lock, ("ShareLock", True),
                         "gen_advance_all held the new node's lock, taken on its second attempt")

        admin.execute("""SELECT operation, old_generation, new_generation, node FROM generation_log
                          WHERE tenant = %s ORDER BY log_id""", (NEW_SHARD,))
        self.assertEqual(admin.fetchall(),
                         [("attach", None, LAST_GENERATION - MARGIN, 3),
                          ("advance_all", LAST_GENERATION - MARGIN, LAST_GENERATION, 3),
                          ("exhausted", LAST_GENERATION, LAST_GENERATION, 3)],
                         "generation_log: the new shard's attach, its advance, its exhaustion")

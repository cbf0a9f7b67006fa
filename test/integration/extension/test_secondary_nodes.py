"""gen_attach and tenant_set_secondaries racing for one shard: a node is never both the shard's
attached node and one of its secondary locations.

gen_attach looks in secondary_locations only for a node that the shard's row lists in
tenant_shards_stored.secondary_nodes, which it read before writing (src/extension/attach.cpp).
tenant_set_secondaries holds the row FOR UPDATE and rewrites that list in the transaction that
adds the secondary locations, so an attach that read the row before it commits finds its own
write refused (the row was updated), reads the row again with the new list, and removes the
secondary location it now attaches to. Were the row only locked, the attach would write over
the old version once the lock is gone, never look, and leave the node both.

The control switches that protection off: tenant_set_secondaries without its UPDATE of the
list (its other statements unchanged). The same race must then leave node 2 both attached and a
secondary location. (gen_re_attach would still list the shard once: since finding 2 of issue 9
its query skips a secondary location on the attached node, a second line of defence.)

Control of gen_attach's side, run by hand (2026-12-02): with lists_node in attach.cpp answering
false for every list, the first test fails with node 2 still a secondary ([2, 3] != [3]).
"""

import re

from harness import ClusterTestCase

SHARDS = iter(f"f10000000000000000000000000000{n:02x}" for n in range(1, 256))


class SecondaryNodesTest(ClusterTestCase):
    PORT = 15448
    SET_SECONDARIES = "SELECT tenant_set_secondaries(%s, ARRAY[2, 3]::bigint[])"
    ATTACH = "SELECT gen_attach(%s, 2)"

    def setUp(self):
        _, admin, _ = self.session()
        for node in (1, 2, 3):
            admin.execute("SELECT node_register(%s, 'ps', 9898, 'ps', 6400)", (node,))
        self.shard = next(SHARDS)  # a new shard for each test, attached to node 1
        admin.execute("SELECT gen_attach(%s, 1)", (self.shard,))
        self.admin = admin

    def race(self, holder_sql, waiter_sql):
        """`holder_sql` runs on the shard in an open transaction, `waiter_sql` from another session
        then waits for the shard's row; returns the waiter's outcome once the holder commits."""
        holder_conn, holder, _ = self.session(autocommit=False)
        holder.execute(holder_sql, (self.shard,))
        _, waiter, waiter_pid = self.session()
        thread, outcome = self.in_thread(waiter, waiter_sql, (self.shard,))
        self.assertIsNotNone(self.lock_wait(waiter_pid, thread), "the second call waits for the shard's row")
        holder_conn.commit()
        thread.join(60)
        self.assertFalse(thread.is_alive(), "the second call finished")
        return outcome

    def secondary_locations(self):
        self.admin.execute("SELECT array_agg(node ORDER BY node) FROM secondary_locations WHERE tenant = %s",
                           (self.shard,))
        return self.admin.fetchone()[0]

    def test_an_attach_that_read_the_row_before_the_secondaries_committed_removes_its_node(self):
        outcome = self.race(self.SET_SECONDARIES, self.ATTACH)
        self.assertEqual(outcome.get("rows"), [(2,)], outcome)
        self.assertEqual(self.secondary_locations(), [3], "node 2 is attached, so no longer a secondary")
        self.admin.execute("SELECT secondary_nodes FROM tenant_shards_stored WHERE id = %s", (self.shard,))
        self.assertEqual(self.admin.fetchone()[0], [3], "the row lists what remains")
        self.admin.execute("SELECT mode FROM gen_re_attach(2) WHERE tenant = %s", (self.shard,))
        self.assertEqual(self.admin.fetchall(), [("AttachedSingle",)])
        # Every secondary location is listed by its shard's row (what gen_attach relies on).
        self.admin.execute("SELECT count(*) FROM secondary_locations s JOIN tenant_shards_stored t ON t.id = s.tenant"
                           " WHERE NOT s.node = ANY (coalesce(t.secondary_nodes, '{}'))")
        self.assertEqual(self.admin.fetchone()[0], 0)

    def test_secondaries_set_while_an_attach_holds_the_row_are_refused_for_its_node(self):
        outcome = self.race(self.ATTACH, self.SET_SECONDARIES)
        self.assertEqual(outcome.get("error", ("",))[0], "22023", outcome)
        self.assertIsNone(self.secondary_locations())

    def test_control_without_the_list_update_the_node_ends_up_both(self):
        self.admin.execute("SELECT pg_get_functiondef('gencontrol.tenant_set_secondaries(gencontrol.tenant_shard_id,"
                           " bigint[])'::regprocedure)")
        definition = self.admin.fetchone()[0]
        unprotected, removed = re.subn(r"\n\s*UPDATE gencontrol\.tenant_shards_stored t\s+SET secondary_nodes.*?;",
                                       "", definition, flags=re.S)
        self.assertEqual(removed, 1, "the control found the statement it removes")
        self.admin.execute(unprotected)
        try:
            outcome = self.race(self.SET_SECONDARIES, self.ATTACH)
            self.assertEqual(outcome.get("rows"), [(2,)], outcome)
            self.assertEqual(self.secondary_locations(), [2, 3], "without the list, node 2 stays a secondary")
            self.admin.execute("SELECT attached_node FROM tenant_shards WHERE id = %s", (self.shard,))
            self.assertEqual(self.admin.fetchone()[0], 2, "... while it is the attached node")
        finally:
            self.admin.execute(definition)

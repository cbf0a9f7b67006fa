"""kill -9 of a real node mid-upload and mid-deletion, then a restart that re-attaches: the
store stays restorable, acknowledged records survive, and the persisted deletion queue recovers
by Neon's rules (validated lists run, a list one generation behind a tenant the node still holds
is relabelled and runs, a list for a tenant it no longer holds is dropped)."""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fleet import TIMELINE, FleetTestCase, in_background, tenant_id, wait_for  # noqa: E402
from test_migration import counters, counters_add_up, layers_on_disk  # noqa: E402


def deletion_lists(node):
    """The deletion lists the node has on disk ({workdir}/deletion/{sequence:016x}-01.list)."""
    try:
        return sorted(n for n in os.listdir(os.path.join(node.workdir, "deletion")) if n.endswith("-01.list"))
    except FileNotFoundError:
        return []


def kill_when(fleet, node, changed, give_up=60):
    """Polls the store until changed() is true (the operation is under way), then kill -9. If the
    operation finished first, the node is killed anyway: the outcome must hold either way."""
    deadline = time.monotonic() + give_up
    while not changed() and time.monotonic() < deadline:
        time.sleep(0.0005)
    fleet.kill9(node)


class NodeCrash(FleetTestCase):
    BASE_PORT = 15760

    def layered(self, t, node, layers):
        """`layers` checkpoints of a few records each: that many layers under one index."""
        f = self.fleet
        for i in range(layers):
            f.write(node, t, f.records(node, 2, [f"k{i % 7}", f"j{i}"]))
            f.checkpoint(node, t)

    def test_kill_mid_upload(self):
        f = self.fleet
        t = tenant_id(4)
        a = f.add_node()
        f.attach(t, a)
        self.layered(t, a, 3)
        for round_ in range(3):
            # A big write makes a layer that takes a while to upload; kill as soon as a new object
            # (or its temporary file) appears under the timeline.
            f.write(a, t, f.records(a, 3000, [f"big{round_}-{i}" for i in range(3000)]))
            seen = set(os.listdir(f.timeline_dir(t)))
            thread, _ = in_background(lambda: a.checkpoint(t, TIMELINE, status=(200,)))
            kill_when(f, a, lambda: set(os.listdir(f.timeline_dir(t))) != seen)
            thread.join(30)
            a.start()
            self.assertGreater(a.tenant(t).json()["generation"], 0)
            self.assertClean(f.check())
        # The restarted node carries on from what was visible.
        f.write(a, t, f.records(a, 1, ["after"]))
        f.checkpoint(a, t)
        self.assertIn("after", a.read(t, TIMELINE).json()["records"])
        self.assertClean(f.check())

    def test_kill_mid_deletion_then_the_queue_runs(self):
        f = self.fleet
        t = tenant_id(5)
        a = f.add_node()
        f.attach(t, a)
        self.layered(t, a, 40)
        replaced_before = layers_on_disk(f, t)
        self.assertGreaterEqual(f.compact(a, t).json()["layers_replaced"], 40)
        # Kill while the flush is deleting: as soon as one replaced layer is gone.
        thread, _ = in_background(lambda: a.flush_deletions())
        kill_when(f, a, lambda: not replaced_before <= layers_on_disk(f, t))
        thread.join(30)
        a.start()
        self.assertClean(f.check())
        # After the restart (the generation moved by one) the recovered lists run.
        a.flush_deletions()
        self.assertEqual(replaced_before & layers_on_disk(f, t), set(),
                         f"replaced layers left after recovery; counters {counters(a)}")
        self.assertClean(f.check())

    def persist_deletions_then_kill(self, t, node):
        """Compacts with the shim stopped: the node writes its deletion list to disk (docs/design.md's
        {workdir}/deletion/) but cannot validate it; then kill -9, and the shim comes back."""
        f = self.fleet
        self.stop_shim()
        try:
            f.compact(node, t)
            in_background(lambda: node.flush_deletions(timeout=120))
            wait_for(lambda: deletion_lists(node), "the deletion list is written to disk")
            f.kill9(node)
        finally:
            self.start_shim()

    def test_kill_with_a_persisted_list_relabels_it(self):
        f = self.fleet
        t = tenant_id(6)
        a = f.add_node()
        gen = f.attach(t, a)
        self.layered(t, a, 4)
        replaced = layers_on_disk(f, t)
        self.persist_deletions_then_kill(t, a)
        self.assertLessEqual(replaced, layers_on_disk(f, t), "deleted without a validation")
        a.start()
        self.assertEqual(a.tenant(t).json()["generation"], gen + 1)
        a.flush_deletions()
        # One generation behind a tenant it still holds: relabelled, validated, run.
        self.assertEqual(replaced & layers_on_disk(f, t), set(), counters(a))
        self.assertGreater(counters(a)["executed"], 0, counters(a))
        self.assertEqual(deletion_lists(a), [])
        counters_add_up(self, a)  # the list the killed process wrote counts in this one
        self.assertClean(f.check())

    def test_kill_then_tenant_moved_away_drops_the_list(self):
        f = self.fleet
        t = tenant_id(7)
        a, b = f.add_node(), f.add_node()
        f.attach(t, a)
        self.layered(t, a, 4)
        # B is attached (A not told) and uploads an index that lists A's layers.
        f.migrate_dirty(t, b)
        f.write(b, t, f.records(b, 1, ["b"]))
        f.checkpoint(b, t)
        listed_by_b = layers_on_disk(f, t)
        # A compacts, queueing deletions of layers B's index lists, and dies with them on disk.
        self.persist_deletions_then_kill(t, a)
        a.start()  # re-attach does not return t: A drops it, and its list fails validation
        a.tenant(t, status=404)
        a.flush_deletions()
        self.assertEqual(counters(a)["executed"], 0, counters(a))
        self.assertGreater(counters(a)["dropped"], 0, counters(a))
        # Dropped never exceeds submitted after a restart: the recovered list was submitted here too.
        counters_add_up(self, a)
        self.assertEqual(deletion_lists(a), [])
        self.assertLessEqual(listed_by_b, layers_on_disk(f, t))
        self.assertClean(f.check())


if __name__ == "__main__":
    unittest.main()

"""Migrations between two real nodes. Clean (RFC 028's order: old AttachedStale, new AttachedMulti,
new AttachedSingle, old Detached): each mode does what docs/design.md says, nothing is deleted before
the new node is AttachedSingle. Dirty (the old node is never told and keeps writing, checkpointing
and compacting): it deletes nothing, its queued deletions are dropped and counted, and nothing it
writes becomes visible."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fleet import TIMELINE, FleetTestCase, tenant_id  # noqa: E402

DELETIONS = "gencontrol_node_deletion_queue_{}_total"


def counters(node):
    m = node.metrics()
    c = {k: m.get(DELETIONS.format(k), 0.0) for k in ("submitted", "validated", "executed", "dropped")}
    c["pending"] = m.get("gencontrol_node_deletion_queue_pending", 0.0)
    return c


def counters_add_up(test, node):
    """The counters' documented meaning, in every process: every key scheduled since the start
    (pushed, found on disk, or held back and discarded) is executed, dropped or still pending."""
    c = counters(node)
    test.assertEqual(c["submitted"], c["executed"] + c["dropped"] + c["pending"], c)
    test.assertLessEqual(c["executed"], c["validated"], c)
    test.assertLessEqual(c["validated"], c["submitted"], c)
    return c


def layers_on_disk(fleet, tenant):
    return {o for o in fleet.objects(tenant) if not o.startswith("index_part.json")}


class Migration(FleetTestCase):
    BASE_PORT = 15740

    def test_clean_migration(self):
        f = self.fleet
        t = tenant_id(2)
        a, b = f.add_node(), f.add_node()
        gen_a = f.attach(t, a)
        for i in range(3):
            f.write(a, t, f.records(a, 2, [f"k{2 * i}", f"k{2 * i + 1}"]))
            f.checkpoint(a, t)
        # The old node goes AttachedStale: it takes no writes and deletes nothing.
        f.set_location(a, t, "AttachedStale", gen_a)
        self.assertEqual(a.tenant(t).json()["mode"], "AttachedStale")
        f.write(a, t, f.records(a, 1), status=409)
        # The new node, with a new generation, in AttachedMulti: it writes and uploads, deletes nothing.
        gen_b = f.issue(t, b)
        self.assertGreater(gen_b, gen_a)
        f.set_location(b, t, "AttachedMulti", gen_b)
        state = b.tenant(t).json()
        self.assertEqual((state["mode"], state["generation"]), ("AttachedMulti", gen_b))
        self.assertEqual(set(b.read(t, TIMELINE).json()["records"]), {f"k{i}" for i in range(6)})
        f.write(b, t, f.records(b, 2, ["k6", "k0"]))
        f.checkpoint(b, t)
        before = layers_on_disk(f, t)
        replaced = f.compact(b, t).json()["layers_replaced"]
        self.assertGreaterEqual(replaced, 4)
        b.flush_deletions()
        self.assertEqual(counters(b)["executed"], 0)
        self.assertLessEqual(before, layers_on_disk(f, t), "a layer was deleted in AttachedMulti")
        # AttachedSingle: now it may delete what it replaces.
        f.set_location(b, t, "AttachedSingle", gen_b)
        f.set_location(a, t, "Detached")
        a.tenant(t, status=404)
        f.write(b, t, f.records(b, 1, ["k7"]))
        f.checkpoint(b, t)
        f.compact(b, t)
        b.flush_deletions()
        self.assertGreater(counters(b)["executed"], 0)
        self.assertEqual(counters(a)["executed"], 0)
        self.assertClean(f.check())
        counters_add_up(self, a)
        counters_add_up(self, b)
        # A later attachment reads every key.
        c = f.add_node()
        f.attach(t, c)
        self.assertEqual(set(c.read(t, TIMELINE).json()["records"]), {f"k{i}" for i in range(8)})

    def test_dirty_migration(self):
        f = self.fleet
        t = tenant_id(3)
        a, b = f.add_node(), f.add_node()
        f.attach(t, a)
        for i in range(3):
            f.write(a, t, f.records(a, 2, [f"k{2 * i}", f"k{2 * i + 1}"]))
            f.checkpoint(a, t)
        visible = a.tenant(t).json()["timelines"][TIMELINE]["remote_consistent_lsn_visible"]
        start = counters(a)
        objects_before = layers_on_disk(f, t)
        f.migrate_dirty(t, b)
        # The old node is never told: it keeps writing, checkpointing and compacting.
        replaced = 0
        for i in range(3):
            f.write(a, t, f.records(a, 3, ["k0", "k8", "k9"]))
            answer = f.checkpoint(a, t).json()
            self.assertEqual(answer["remote_consistent_lsn_visible"], visible, answer)
            replaced += f.compact(a, t).json()["layers_replaced"]
            a.flush_deletions()
        end = counters(a)
        print(f"\ndirty migration, stale node: {replaced} layers replaced; deletion queue "
              + ", ".join(f"{k} {end[k] - start[k]:g}" for k in end), file=sys.stderr)
        self.assertEqual(end["executed"], start["executed"], end)
        self.assertGreaterEqual(end["dropped"] - start["dropped"], replaced, end)
        self.assertGreater(replaced, 0)
        self.assertLessEqual(objects_before, layers_on_disk(f, t), "the stale node deleted a layer")
        self.assertEqual(a.tenant(t).json()["timelines"][TIMELINE]["remote_consistent_lsn_visible"], visible)
        # The new node works on what was visible when it attached, and may delete.
        self.assertEqual(set(b.read(t, TIMELINE).json()["records"]), {f"k{i}" for i in range(6)})
        f.write(b, t, f.records(b, 2, ["k6", "k7"]))
        f.checkpoint(b, t)
        f.compact(b, t)
        b.flush_deletions()
        self.assertGreater(counters(b)["executed"], 0)
        self.assertClean(f.check())

    def test_held_back_deletions_that_never_run_are_dropped_and_counted(self):
        """Outside AttachedSingle a node holds its deletions back; when its attachment ends instead
        (detached after AttachedStale, or moved to a newer generation from AttachedMulti) they can
        never run, and are counted as dropped, as a stale queued list is."""
        f = self.fleet
        t = tenant_id(8)
        a, b = f.add_node(), f.add_node()
        gen_a = f.attach(t, a)
        for i in range(3):
            f.write(a, t, f.records(a, 2, [f"k{2 * i}", f"k{2 * i + 1}"]))
            f.checkpoint(a, t)
        # The old node, AttachedStale, compacts (as a node mid-migration may): it deletes nothing.
        f.set_location(a, t, "AttachedStale", gen_a)
        before = layers_on_disk(f, t)
        replaced_a = f.compact(a, t).json()["layers_replaced"]
        self.assertGreater(replaced_a, 0)
        a.flush_deletions()
        self.assertEqual(counters(a)["dropped"], 0)
        gen_b = f.issue(t, b)
        f.set_location(b, t, "AttachedMulti", gen_b)
        f.set_location(a, t, "Detached")
        c = counters_add_up(self, a)
        self.assertEqual((c["dropped"], c["executed"]), (replaced_a, 0), c)
        # The new node compacts in AttachedMulti, then is moved on to a newer generation before
        # AttachedSingle: its held-back deletions belong to an attachment that is over.
        f.write(b, t, f.records(b, 2, ["k6", "k0"]))
        f.checkpoint(b, t)
        replaced_b = f.compact(b, t).json()["layers_replaced"]
        self.assertGreater(replaced_b, 0)
        gen_b2 = f.issue(t, b)
        f.set_location(b, t, "AttachedSingle", gen_b2)
        b.flush_deletions()
        c = counters_add_up(self, b)
        self.assertEqual((c["dropped"], c["executed"]), (replaced_b, 0), c)
        self.assertLessEqual(before, layers_on_disk(f, t), "a held-back deletion ran")
        self.assertClean(f.check())


if __name__ == "__main__":
    unittest.main()

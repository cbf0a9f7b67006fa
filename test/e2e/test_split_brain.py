"""docs/design.md's split brain ("The problem"), played step by step with two real nodes: with
generations properties 1-4 hold and the stale node's deletions are dropped and counted; the same
steps with --no-generations leave a store the checker reports broken (the control run)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from checker import DURABLE, RESTORABLE  # noqa: E402
from fleet import FleetTestCase, tenant_id  # noqa: E402

TENANT = tenant_id(1)


def play(test):
    """The four steps. Returns (a, b, facts) with what the steps observed on the way."""
    f = test.fleet
    a, b = f.add_node(), f.add_node()
    facts = {}
    gen_a = f.attach(TENANT, a)
    # 1. A uploads layers L1 and L2; its index lists both.
    f.write(a, TENANT, f.records(a, 3))
    f.checkpoint(a, TENANT)
    f.write(a, TENANT, f.records(a, 2, ["k3", "k4"]))
    facts["visible_before_b"] = f.checkpoint(a, TENANT).json()["remote_consistent_lsn_visible"]
    facts["index_after_step_1"] = f.index(TENANT, None if f.no_generations else gen_a)
    # 2. B is attached to the same tenant (A is never told) and reads that index.
    facts["gen_b"] = f.attach(TENANT, b)
    facts["b_sees"] = b.read(TENANT, "de200bd42b49cc1814412c7e592dd6e9").json()["records"]
    # 3. A keeps going: writes, uploads, compacts (an image layer replaces L1, L2...) and deletes.
    f.write(a, TENANT, f.records(a, 2, ["k5", "k6"]))
    facts["a_checkpoint_after_b"] = f.checkpoint(a, TENANT).json()
    facts["layers_replaced"] = f.compact(a, TENANT).json()["layers_replaced"]
    a.flush_deletions()
    # 4. B uploads L4 on top of its old view.
    f.write(b, TENANT, f.records(b, 2, ["k7", "k0"]))
    f.checkpoint(b, TENANT)
    return a, b, facts


class SplitBrainWithGenerations(FleetTestCase):
    BASE_PORT = 15700

    def test_four_steps_leave_a_restorable_store(self):
        a, b, facts = play(self)
        self.assertEqual(len(facts["index_after_step_1"]), 2, facts)  # L1, L2
        self.assertEqual(set(facts["b_sees"]), {"k0", "k1", "k2", "k3", "k4"})
        self.assertGreaterEqual(facts["layers_replaced"], 2)
        report = self.fleet.check()
        self.assertClean(report)
        self.assertGreater(report.acknowledged, 0)
        # The stale node could not make its new records visible, nor delete.
        after = facts["a_checkpoint_after_b"]
        self.assertEqual(after["remote_consistent_lsn_visible"], facts["visible_before_b"], after)
        self.assertGreater(after["remote_consistent_lsn"], after["remote_consistent_lsn_visible"], after)
        metrics = a.metrics()
        self.assertEqual(metrics.get("gencontrol_node_deletion_queue_executed_total", 0), 0, metrics)
        self.assertGreaterEqual(metrics.get("gencontrol_node_deletion_queue_dropped_total", 0), 2, metrics)
        self.assertGreater(metrics.get('gencontrol_node_validations_total{result="invalid"}', 0), 0, metrics)
        # B's index is the highest and still lists A's layers, which are all there.
        listed = self.fleet.index(TENANT, facts["gen_b"])
        self.assertGreaterEqual(len(listed), 3)
        # Everything B and A acknowledged before B attached reads back from a new attachment.
        c = self.fleet.add_node()
        self.fleet.attach(TENANT, c)
        seen = c.read(TENANT, "de200bd42b49cc1814412c7e592dd6e9").json()["records"]
        self.assertEqual(set(seen), {"k0", "k1", "k2", "k3", "k4", "k7"})


class SplitBrainWithoutGenerations(FleetTestCase):
    """The control run: the same steps, nodes started with --no-generations."""
    BASE_PORT = 15720
    NO_GENERATIONS = True

    def test_four_steps_break_the_store(self):
        a, b, facts = play(self)
        report = self.fleet.check()
        print(f"\ncontrol run: {report.summary()}", file=sys.stderr)
        for v in report.violations[:5]:
            print(f"  {v}", file=sys.stderr)
        self.assertIn(RESTORABLE, report.kinds(), report.summary())
        self.assertIn(DURABLE, report.kinds(), report.summary())
        # A deleted at once, without asking anyone.
        self.assertGreater(a.metric("gencontrol_node_deletion_queue_executed_total"), 0)


if __name__ == "__main__":
    unittest.main()

"""The seeded chaos run (chaos.py) with generations, where the checker must find no violation, and
the same seed with --no-generations, where it must find some. `make test` runs a short one;
`make test-long` (GENCONTROL_LONG=1) a long one. GENCONTROL_E2E_SEED picks another seed."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chaos import Chaos  # noqa: E402
from fleet import FleetTestCase  # noqa: E402

LONG = os.environ.get("GENCONTROL_LONG") == "1"
SEED = int(os.environ.get("GENCONTROL_E2E_SEED", "1"))
OPERATIONS, LIMIT_SECONDS = (6000, 900) if LONG else (300, 90)


def play(test):
    chaos = Chaos(test.fleet, SEED)
    report = chaos.run(OPERATIONS, LIMIT_SECONDS)
    mode = "without generations" if test.NO_GENERATIONS else "with generations"
    print(f"\nchaos seed {SEED} {mode}: {report.summary()}", file=sys.stderr)
    for v in report.violations[:10]:
        print(f"  {v}", file=sys.stderr)
    print("  outcomes: " + ", ".join(f"{k} x{v}" for k, v in sorted(chaos.outcomes.items())), file=sys.stderr)
    totals = {}
    for node in chaos.nodes:
        if node.alive():
            for k, v in node.metrics().items():
                if k.startswith("gencontrol_node_deletion_queue_") and k.endswith("_total"):
                    name = k[len("gencontrol_node_deletion_queue_"):-len("_total")]
                    totals[name] = totals.get(name, 0) + v
    print("  deletion queues of the running processes: "
          + ", ".join(f"{k} {v:g}" for k, v in sorted(totals.items())), file=sys.stderr)
    print(chaos.summary(report), file=sys.stderr)
    return chaos, report


class ChaosWithGenerations(FleetTestCase):
    BASE_PORT = 15800

    def test_chaos(self):
        chaos, report = play(self)
        self.assertGreater(report.acknowledged, 0)
        self.assertGreater(self.fleet.counts["migrations"], 0)
        self.assertClean(report)


class ChaosWithoutGenerations(FleetTestCase):
    """The control run: the same seed must break the store."""
    BASE_PORT = 15820
    NO_GENERATIONS = True

    def test_chaos_breaks_the_store(self):
        chaos, report = play(self)
        self.assertGreater(len(report.violations), 0, report.summary())


if __name__ == "__main__":
    unittest.main()

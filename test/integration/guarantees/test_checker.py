"""The history checker against hand-made histories: each broken one must be caught with
the right kind of violation, and legal ones (including concurrent and unknown-outcome
operations) must pass. No database needed."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from history import (ATTACH, DUPLICATE, FAIL, FALSE_INVALID, KINDS, LOST, OK, ORDER,  # noqa: E402
                     PHANTOM_VALID, RE_ATTACH, STALE_VALID, UNKNOWN, VALIDATE, VALIDATE_BATCH, Op,
                     check, lost_acknowledgements)

A = "072f1291a5310026820b2fe4b2968934"
B = "072f1291a5310026820b2fe4b2968934-0102"


def attach(start, end, tenant, gen, node=1, outcome=OK, client="c1"):
    return Op(client, ATTACH, tenant, {"node": node}, start, None if outcome == UNKNOWN else end,
              outcome, gen if outcome == OK else None)


def re_attach(start, end, node, result, outcome=OK, client="c2"):
    return Op(client, RE_ATTACH, None, {"node": node}, start, None if outcome == UNKNOWN else end,
              outcome, result if outcome == OK else None)


def validate(start, end, tenant, gen, valid, client="c3"):
    return Op(client, VALIDATE, tenant, {"gen": gen}, start, end, OK, valid)


def batch(start, end, pairs, valids, client="c4"):
    return Op(client, VALIDATE_BATCH, None, {"pairs": pairs}, start, end, OK, valids)


# A legal history: sequential and overlapping attaches, a re-attach, validates that see the
# latest generation, a stale one refused, overlapping ones answered either way.
CLEAN = [
    attach(0, 10, A, 1),
    attach(1, 9, B, 1, node=2),
    validate(11, 12, A, 1, True),
    attach(20, 30, A, 2),
    attach(25, 40, A, 3, client="c5"),          # overlaps the previous: order free
    validate(26, 28, A, 1, False),              # an attach of A was under way
    validate(29, 35, A, 2, True),               # attach 2 completed at 30, 3 may come after
    validate(41, 42, A, 2, False),
    validate(41, 42, A, 3, True),
    re_attach(50, 60, 1, [(A, 4)]),
    batch(61, 62, [(A, 3), (A, 4), (B, 1)], [False, True, True]),
    attach(70, 80, B, 2, node=2, outcome=FAIL),  # refused: B keeps generation 1
    batch(81, 82, [(B, 1)], [True]),
    attach(90, 95, A, None, outcome=UNKNOWN),   # reply lost: it may have issued 5
    validate(100, 101, A, 4, False),            # ...so 4 may be superseded
    validate(100, 101, A, 5, True),             # ...and 5 may be valid
    attach(110, 120, A, 6),
]


class CheckerTest(unittest.TestCase):
    def assertCaught(self, history, kind, stored=None):
        report = check(history, stored)
        self.assertGreater(report.count(kind), 0, f"{kind} not caught:\n{report.explain()}")
        return report

    def test_clean_history_passes(self):
        report = check(CLEAN, stored={A: 6, B: 1})
        self.assertEqual(report.violations, [], report.explain())
        self.assertEqual(report.operations, len(CLEAN))
        self.assertEqual(report.acknowledged, 6)
        self.assertEqual(report.unknown, 1)
        self.assertEqual(report.validations, 11)
        self.assertGreater(report.decisive, 0)
        self.assertLess(report.decisive, report.validations)

    def test_duplicate_generation(self):
        history = [attach(0, 10, A, 1), attach(5, 15, A, 1, client="c2")]
        report = self.assertCaught(history, DUPLICATE)
        self.assertEqual(report.count(ORDER), 0)  # they overlap: only the duplicate is wrong

    def test_duplicate_across_attach_and_re_attach(self):
        history = [attach(0, 10, A, 1), attach(20, 30, A, 2),
                   re_attach(25, 35, 1, [(A, 2)])]
        self.assertCaught(history, DUPLICATE)

    def test_real_time_order(self):
        # The second attach began after the first was acknowledged yet got a lower number:
        # what a lost-then-reissued generation looks like after a crash.
        history = [attach(0, 10, A, 5), attach(20, 30, A, 4)]
        report = self.assertCaught(history, ORDER)
        self.assertEqual(report.count(DUPLICATE), 0)

    def test_real_time_order_equal_generation(self):
        history = [attach(0, 10, A, 5), re_attach(20, 30, 1, [(A, 5)])]
        self.assertCaught(history, ORDER)

    def test_stale_validate_true(self):
        history = [attach(0, 10, A, 1), attach(20, 30, A, 2), validate(40, 50, A, 1, True)]
        self.assertCaught(history, STALE_VALID)

    def test_stale_validate_true_in_batch(self):
        history = [attach(0, 10, A, 1), re_attach(20, 30, 1, [(A, 2)]),
                   batch(40, 50, [(B, 1), (A, 1)], [None, True])]
        self.assertCaught(history, STALE_VALID)

    def test_validate_false_unsuperseded(self):
        history = [attach(0, 10, A, 1), validate(20, 30, A, 1, False)]
        self.assertCaught(history, FALSE_INVALID)

    def test_validate_unknown_shard_after_attach(self):
        # A shard that was acknowledged and then answered as unknown (NULL) has lost its row.
        history = [attach(0, 10, A, 1), batch(20, 30, [(A, 1)], [None])]
        self.assertCaught(history, FALSE_INVALID)

    def test_validate_false_ignores_failed_attach(self):
        history = [attach(0, 10, A, 1), attach(12, 15, A, None, outcome=FAIL),
                   validate(20, 30, A, 1, False)]
        self.assertCaught(history, FALSE_INVALID)

    def test_validate_false_excused_by_unknown_attach(self):
        history = [attach(0, 10, A, 1), attach(12, None, A, None, outcome=UNKNOWN),
                   validate(20, 30, A, 1, False)]
        self.assertEqual(check(history).violations, [])

    def test_validate_false_excused_by_unknown_re_attach_of_its_node(self):
        history = [attach(0, 10, A, 1, node=3), re_attach(12, None, 3, None, outcome=UNKNOWN),
                   validate(20, 30, A, 1, False)]
        self.assertEqual(check(history).violations, [])

    def test_validate_false_not_excused_by_unknown_re_attach_of_another_node(self):
        history = [attach(0, 10, A, 1, node=3), re_attach(12, None, 4, None, outcome=UNKNOWN),
                   validate(20, 30, A, 1, False)]
        self.assertCaught(history, FALSE_INVALID)

    def test_validate_true_never_issued(self):
        history = [attach(0, 10, A, 1), validate(20, 30, A, 7, True)]
        self.assertCaught(history, PHANTOM_VALID)

    def test_validate_true_during_an_attach_that_skipped_it(self):
        # An attach retried inside the shim issues 2, then 3, and acknowledges 3: a validate
        # of 2 in between may answer true.
        history = [attach(0, 10, A, 1), attach(20, 40, A, 3), validate(25, 30, A, 2, True)]
        self.assertEqual(check(history).violations, [])

    def test_validate_true_above_everything_begun(self):
        history = [attach(0, 10, A, 1), validate(20, 30, A, 3, True), attach(35, 40, A, 3)]
        self.assertCaught(history, PHANTOM_VALID)

    def test_lost_acknowledged_generation(self):
        history = [attach(0, 10, A, 1), attach(20, 30, A, 2)]
        self.assertCaught(history, LOST, stored={A: 1})
        self.assertCaught(history, LOST, stored={})
        self.assertEqual(check(history, stored={A: 2}).violations, [])
        self.assertEqual(lost_acknowledgements(history, {A: 1}), 1)
        self.assertEqual(lost_acknowledgements(history, {}), 2)

    def test_every_kind_is_tested(self):
        tested = {DUPLICATE, ORDER, STALE_VALID, FALSE_INVALID, PHANTOM_VALID, LOST}
        self.assertEqual(tested, set(KINDS))


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/python3
"""Runs the end-to-end tests (every test_*.py in this folder) and prints one summary line.

    run.py [PATTERN ...]   only the test modules whose name contains a PATTERN

Scenario tests skip (and only then) when build/gencontrol-node is not built; the checker's own
tests need nothing but Python.
"""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    patterns = sys.argv[1:]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in sorted(os.listdir(HERE)):
        if name.startswith("test_") and name.endswith(".py") and (not patterns or any(p in name for p in patterns)):
            suite.addTests(loader.loadTestsFromName(name[:-3]))
    if patterns and suite.countTestCases() == 0:
        print("e2e: no test module matches", " ".join(patterns))
        return 0
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # A class skipped in setUpClass (no node built) is one skip that ran no test.
    skipped_tests = sum(1 for test, _ in result.skipped if isinstance(test, unittest.TestCase))
    passed = max(0, result.testsRun - failed - skipped_tests)
    print(f"e2e: {passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

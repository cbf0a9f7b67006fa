#!/usr/bin/python3
"""Runs the integration tests (every test_*.py below this folder) and prints one summary line.

    run.py [PATTERN ...]   only the test modules whose name contains a PATTERN
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
    for dirpath, _, files in sorted(os.walk(HERE)):
        for name in sorted(files):
            if not (name.startswith("test_") and name.endswith(".py")):
                continue
            if patterns and not any(p in name for p in patterns):
                continue
            sys.path.insert(0, dirpath)
            suite.addTests(loader.loadTestsFromName(name[:-3]))
            sys.path.pop(0)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # A failing setUpClass is an error without a test run; count it as failed, never as negative passes.
    passed = max(0, result.testsRun - failed - len(result.skipped))
    print(f"integration: {passed} passed, {failed} failed, {len(result.skipped)} skipped")
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

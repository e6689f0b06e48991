#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests for regress-report.py (make regress's table and verdict).
Prints KTAP, so its results count like the rest."""

import contextlib
import io
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_vmlog import load_script, run_ktap  # noqa: E402

report = load_script("regress-report.py")

PASS_A = "1..3\nok 1\nok 2\nok 3\n"
PASS_B = "1..2\nok 1\nok 2\n"


class Report(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.res = os.path.join(self.tmp.name, "regress")

    def tearDown(self):
        self.tmp.cleanup()

    def put(self, column, test, tap):
        os.makedirs(os.path.join(self.res, column), exist_ok=True)
        with open(os.path.join(self.res, column, test + ".tap"), "w") as f:
            f.write(tap)

    def ask(self, column, *tests):
        os.makedirs(os.path.join(self.res, column), exist_ok=True)
        with open(os.path.join(self.res, column, "requested"), "w") as f:
            f.write("".join(t + "\n" for t in tests))

    def patched_ran_only_b(self):
        """The base ran "a" and "b", both passing; the patched column has a
        result for "b" only."""
        self.put("base", "a", PASS_A)
        self.put("base", "b", PASS_B)
        self.put("patched", "b", PASS_B)

    def run_report(self, *columns):
        sys.argv = ["regress-report.py", self.res, *columns]
        with contextlib.redirect_stdout(io.StringIO()):
            rc = report.main()
        with open(self.res + ".ktap") as f:
            ktap = f.read().splitlines()
        with open(self.res + ".md") as f:
            md = f.read()
        return rc, ktap, md

    def test_same_results_pass(self):
        for c in ("base", "patched"):
            self.put(c, "a", PASS_A)
            self.put(c, "b", PASS_B)
        rc, ktap, md = self.run_report("base", "patched")
        self.assertEqual(rc, 0)
        self.assertEqual(ktap[1], "1..5")
        self.assertFalse([line for line in ktap if line.startswith("not ok")])
        self.assertIn("Regressions (pass on the base, fail patched): 0", md)

    def test_failing_or_unreported_subtest_is_a_regression(self):
        # Subtest 2 of "b" passes on the base; patched, it fails, or the
        # plan announces it and the program never reports it.
        for why, tap in (("fails", "1..2\nok 1\nnot ok 2\n"), ("unreported", "1..2\nok 1\n")):
            # No subTest(): the KTAP result class reports whole tests.
            self.put("base", "b", PASS_B)
            self.put("patched", "b", tap)
            rc, ktap, md = self.run_report("base", "patched")
            self.assertEqual(rc, 1, why)
            self.assertIn("not ok 2 regress: b 2 # fails on: patched", ktap, why)
            self.assertIn("- b 2 (patched)", md, why)

    def test_test_without_result_fails(self):
        # The whole suite was asked for (no "requested" list) and "a" has
        # no result: the guest died before it, say.
        self.patched_ran_only_b()
        rc, _, md = self.run_report("base", "patched")
        self.assertEqual(rc, 1)
        self.assertIn("Regressions (pass on the base, fail patched): 3", md)

    def test_subset_compares_only_what_was_asked(self):
        self.patched_ran_only_b()
        self.ask("patched", "b")
        rc, _, md = self.run_report("base", "patched")
        self.assertEqual(rc, 0)
        self.assertIn("Regressions (pass on the base, fail patched): 0", md)

    def test_asked_but_missing_fails(self):
        self.patched_ran_only_b()
        self.ask("patched", "a", "b")
        rc, _, _ = self.run_report("base", "patched")
        self.assertEqual(rc, 1)

    def test_base_failure_is_skipped_with_its_reason(self):
        self.put("base", "filter_exclude", "1..1\nnot ok 1\n")
        self.put("patched", "filter_exclude", "1..1\nnot ok 1\n")
        rc, ktap, md = self.run_report("base", "patched")
        self.assertEqual(rc, 0)
        self.assertIn("ok 1 regress: filter_exclude 1 # SKIP no SELinux policy in the guest (id -Z)", ktap)
        self.assertIn("| filter_exclude | 0/1 | 0/1 | no SELinux policy in the guest (id -Z) |", md)

    def test_container_column_counts(self):
        for c in ("base", "patched", "container"):
            self.put(c, "b", PASS_B)
        self.put("container", "a", "1..3\nok 1\nok 2\nnot ok 3\n")
        self.put("base", "a", PASS_A)
        self.put("patched", "a", PASS_A)
        rc, ktap, _ = self.run_report("base", "patched", "container")
        self.assertEqual(rc, 1)
        self.assertIn("not ok 3 regress: a 3 # fails on: container", ktap)


if __name__ == "__main__":
    sys.exit(run_ktap(sys.modules[__name__]))
